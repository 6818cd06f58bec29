// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/controller"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

func key(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

// eventsFor lists the events.k8s.io Events about a StatefulSet.
func eventsFor(sts *appsv1.StatefulSet) func() []eventsv1.Event {
	return func() []eventsv1.Event {
		var list eventsv1.EventList
		Expect(k8sClient.List(ctx, &list, client.InNamespace(sts.Namespace))).To(Succeed())
		var out []eventsv1.Event
		for _, e := range list.Items {
			if e.Regarding.Kind == "StatefulSet" && e.Regarding.Name == sts.Name {
				out = append(out, e)
			}
		}
		return out
	}
}

var _ = Describe("the companion reconciler", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("creates the ConfigMap and both Services, owned by the StatefulSet", func() {
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())

		cm := &corev1.ConfigMap{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql"), cm) }).Should(Succeed())
		Expect(cm.Data).To(HaveKey(contract.PrimaryConfigKey))
		Expect(cm.Data[contract.ReplicaConfigKey]).To(ContainSubstring("super-read-only"))

		headless, read := &corev1.Service{}, &corev1.Service{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql"), headless) }).Should(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-read"), read) }).Should(Succeed())
		Expect(headless.Spec.ClusterIP).To(Equal(corev1.ClusterIPNone))
		Expect(headless.Spec.Selector).To(Equal(map[string]string{"app": "mysql"}))
		Expect(read.Spec.ClusterIP).NotTo(Equal(corev1.ClusterIPNone))
		Expect(read.Spec.Ports).To(ConsistOf(HaveField("Port", int32(3306))))

		for _, obj := range []client.Object{cm, headless, read} {
			Expect(obj.GetOwnerReferences()).To(ConsistOf(And(
				HaveField("Kind", "StatefulSet"), HaveField("Name", "mysql"), HaveField("UID", sts.UID),
				HaveField("Controller", HaveValue(BeTrue())))))
			Expect(obj.GetLabels()).To(HaveKeyWithValue(contract.LabelManagedBy, contract.ManagedBy))
		}
		Eventually(eventsFor(sts)).Should(ContainElement(HaveField("Reason", controller.ReasonCreated)))
	})

	It("recreates a companion that is deleted", func() {
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		read := &corev1.Service{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-read"), read) }).Should(Succeed())
		uid := read.UID
		Expect(k8sClient.Delete(ctx, read)).To(Succeed())
		Eventually(func() (bool, error) {
			err := k8sClient.Get(ctx, key(ns, "mysql-read"), read)
			return err == nil && read.UID != uid, client.IgnoreNotFound(err)
		}).Should(BeTrue())
	})

	It("leaves a user's own Service alone and warns that it cannot serve", func() {
		own := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "mysql", Namespace: ns, Labels: map[string]string{"owner": "user"}},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": "mysql"},
				Ports:    []corev1.ServicePort{{Name: "mysql", Port: 3306}},
			},
		}
		Expect(k8sClient.Create(ctx, own)).To(Succeed())
		before := get(own.DeepCopy())

		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		Eventually(eventsFor(sts)).Should(ContainElement(And(
			HaveField("Reason", controller.ReasonUnusable),
			HaveField("Type", corev1.EventTypeWarning),
			HaveField("Note", ContainSubstring("is not headless")))))

		after := get(own.DeepCopy())
		Expect(after.GetResourceVersion()).To(Equal(before.GetResourceVersion()))
		Expect(after.GetOwnerReferences()).To(BeEmpty())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-read"), &corev1.Service{}) }).Should(Succeed())
	})

	It("creates nothing for a dry-run create", func() {
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts, client.DryRunAll)).To(Succeed())
		Expect(sts.Spec.Template.Spec.InitContainers).To(HaveLen(2), "the dry run answer is injected")
		Consistently(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "mysql"), &appsv1.StatefulSet{})) &&
				apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "mysql"), &corev1.ConfigMap{})) &&
				apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "mysql-read"), &corev1.Service{}))
		}).WithTimeout(2 * time.Second).Should(BeTrue())
	})

	It("gives an unlabeled StatefulSet nothing", func() {
		sts := minimal(ns)
		sts.Labels = nil
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		Consistently(func() bool {
			var cms corev1.ConfigMapList
			var svcs corev1.ServiceList
			Expect(k8sClient.List(ctx, &cms, client.InNamespace(ns), client.MatchingLabels{contract.LabelManagedBy: contract.ManagedBy})).To(Succeed())
			Expect(k8sClient.List(ctx, &svcs, client.InNamespace(ns))).To(Succeed())
			return len(cms.Items) == 0 && len(svcs.Items) == 0
		}).WithTimeout(2 * time.Second).Should(BeTrue())
	})
})
