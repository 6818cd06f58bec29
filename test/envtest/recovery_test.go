// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/controller"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/recovery"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

var _ = Describe("recover-primary", func() {
	pod := func(ns, name string, phase corev1.PodPhase, ready bool) *corev1.Pod {
		GinkgoHelper()
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "mysql", Image: "mysql:8.4"}}},
		}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		p.Status.Phase = phase
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
		Expect(k8sClient.Status().Update(ctx, p)).To(Succeed())
		return p
	}

	It("names every replica in <name>-initialized, restarts pod 0, and removes the request once pod 0 is ready", func() {
		ns := newNamespace()
		sts := minimal(ns)
		sts.Spec.Template.Spec.Containers[0].Image = "mysql:8.4"
		sts.Spec.Replicas = ptr.To[int32](3)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		k := key(ns, sts.Name)

		_, err := recovery.Request(ctx, k8sClient, k, nil)
		Expect(err).To(MatchError(ContainSubstring("has never been ready, and starts by itself")))

		sts.Status.Replicas, sts.Status.ReadyReplicas, sts.Status.AvailableReplicas = 3, 1, 1
		Expect(k8sClient.Status().Update(ctx, sts)).To(Succeed())
		marker := &corev1.ConfigMap{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, mutate.InitializedConfigMapName(sts)), marker) }).Should(Succeed())

		// A primary that is ready has its data.
		pod0 := pod(ns, "mysql-0", corev1.PodRunning, true)
		_, err = recovery.Request(ctx, k8sClient, k, nil)
		Expect(err).To(MatchError(ContainSubstring("pod mysql-0 is ready")))
		Expect(k8sClient.Delete(ctx, pod0)).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "mysql-0"), &corev1.Pod{})) }).Should(BeTrue())

		// Pod 0 refuses to start; replica 1 runs, replica 2 is gone.
		pod0 = pod(ns, "mysql-0", corev1.PodPending, false)
		pod(ns, "mysql-1", corev1.PodRunning, true)
		for without, want := range map[int]string{
			1: "pod mysql-1 is running: it must be a candidate",
			3: "has no replica 3",
			0: "has no replica 0",
		} {
			_, err = recovery.Request(ctx, k8sClient, k, []int{without})
			Expect(err).To(MatchError(ContainSubstring(want)))
			Expect(err).To(MatchError(recovery.ErrRefused))
		}
		plan, err := recovery.Request(ctx, k8sClient, k, []int{2})
		Expect(err).NotTo(HaveOccurred())
		Expect(plan.Candidates).To(Equal([]int{1}))
		plan, err = recovery.Request(ctx, k8sClient, k, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(plan.Candidates).To(Equal([]int{1, 2}))
		get(marker)
		Expect(marker.Data).To(HaveKeyWithValue(contract.RecoverFromKey, "1 2"))
		Expect(marker.Data).To(HaveKey(contract.InitializedKey), "the marker itself is kept")
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "mysql-0"), &corev1.Pod{}))).To(BeTrue(), "pod 0 was deleted to start again")

		// The StatefulSet controller would make pod 0 again; it clones, and
		// is ready.
		pod(ns, "mysql-0", corev1.PodRunning, true)
		sts.Status.ReadyReplicas = 2
		Expect(k8sClient.Status().Update(ctx, sts)).To(Succeed())
		Eventually(eventsFor(sts), "60s").Should(ContainElement(And(
			HaveField("Reason", controller.ReasonRecoveryLeft),
			HaveField("Type", corev1.EventTypeWarning),
		)))
		Expect(recovery.Finish(ctx, k8sClient, k, nil)).To(Succeed())
		get(marker)
		Expect(marker.Data).NotTo(HaveKey(contract.RecoverFromKey))
		Expect(marker.Data).To(HaveKey(contract.InitializedKey))
	})

	It("refuses what it cannot recover, saying why", func() {
		ns := newNamespace()
		sts := minimal(ns)
		sts.Spec.Template.Spec.Containers[0].Image = "mysql:5.7"
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		_, err := recovery.Request(ctx, k8sClient, key(ns, sts.Name), nil)
		Expect(err).To(MatchError(ContainSubstring("restore pod 0's volume from a backup")))

		one := minimal(ns)
		one.Name = "single"
		one.Spec.Template.Spec.Containers[0].Image = "mariadb:11.8"
		one.Spec.Replicas = ptr.To[int32](1)
		Expect(k8sClient.Create(ctx, one)).To(Succeed())
		_, err = recovery.Request(ctx, k8sClient, key(ns, one.Name), nil)
		Expect(err).To(MatchError(ContainSubstring("has no replica to recover pod 0 from")))

		_, err = recovery.Request(ctx, k8sClient, key(ns, "absent"), nil)
		Expect(apierrors.IsNotFound(err)).To(BeTrue())
	})
})
