// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/controller"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

var _ = Describe("an empty primary", func() {
	It("is recorded as initialised once a pod was ready, and reported when it refuses to start empty", func() {
		ns := newNamespace()
		sts := minimal(ns)
		sts.Spec.Template.Spec.Containers[0].Image = "mysql:8.4"
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		vol := sts.Spec.Template.Spec.Volumes
		Expect(names(vol, func(v corev1.Volume) string { return v.Name })).To(ContainElement(contract.InitializedVolume))

		marker := &corev1.ConfigMap{}
		name := mutate.InitializedConfigMapName(sts)
		Consistently(func() error { return k8sClient.Get(ctx, key(ns, name), marker) }, "2s").ShouldNot(Succeed())

		// No StatefulSet controller runs here: its status says what it would.
		sts.Status.Replicas, sts.Status.ReadyReplicas, sts.Status.AvailableReplicas = 1, 1, 1
		Expect(k8sClient.Status().Update(ctx, sts)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, name), marker) }).Should(Succeed())
		Expect(marker.Data).To(HaveKey(contract.InitializedKey))
		Expect(marker.OwnerReferences).To(BeEmpty(), "the marker outlives the StatefulSet, as its data does")

		// Pod 0 came back with an empty data directory and its clone-mysql
		// refused to start; the kubelet put the log tail in its status.
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "mysql-0", Namespace: ns, Labels: sts.Spec.Template.Labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "mysql", Image: "mysql:8.4"}}},
		}
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{
			Name: contract.CloneMySQLContainer, Image: "mysql:8.4", ImageID: "x",
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 1, Reason: "Error",
				Message: "clone-mysql: refusing to start an empty primary: StatefulSet mysql has been initialised",
			}},
		}}
		Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
		sts.Status.ReadyReplicas, sts.Status.AvailableReplicas = 0, 0
		Expect(k8sClient.Status().Update(ctx, sts)).To(Succeed())
		Eventually(eventsFor(sts), "60s").Should(ContainElement(And(
			HaveField("Reason", controller.ReasonEmptyPrimary),
			HaveField("Type", corev1.EventTypeWarning),
			HaveField("Note", ContainSubstring(`README: "An empty primary"`)),
		)))
	})
})
