// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

const (
	webhookConfiguration = "mutating-webhook-configuration"
	statefulSetWebhook   = "statefulsets.mysql-replication.io"
)

// excludeNamespace adds (or, with exclude false, removes) ns to the
// namespaces the StatefulSet webhook is not called for, and waits until the
// API server acts on it: a labeled StatefulSet the webhook denies is then
// created (or denied again) in a dry run.
func excludeNamespace(ns string, exclude bool) {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cfg admissionregistrationv1.MutatingWebhookConfiguration
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: webhookConfiguration}, &cfg); err != nil {
			return err
		}
		i := slices.IndexFunc(cfg.Webhooks, func(w admissionregistrationv1.MutatingWebhook) bool { return w.Name == statefulSetWebhook })
		Expect(i).NotTo(BeNumerically("<", 0), "no webhook %s in %s", statefulSetWebhook, webhookConfiguration)
		exprs := cfg.Webhooks[i].NamespaceSelector.MatchExpressions
		Expect(exprs).To(HaveLen(1))
		values := slices.DeleteFunc(slices.Clone(exprs[0].Values), func(v string) bool { return v == ns })
		if exclude {
			values = append(values, ns)
		}
		exprs[0].Values = values
		return k8sClient.Update(ctx, &cfg)
	})).To(Succeed())

	probe := minimal(ns)
	probe.Name = "probe"
	probe.Spec.Template.Spec.Containers = []corev1.Container{{Name: "a", Image: "mysql:5.7"}, {Name: "b", Image: "busybox"}}
	Eventually(func() bool {
		err := k8sClient.Create(ctx, probe.DeepCopy(), client.DryRunAll)
		if exclude {
			return err == nil
		}
		return apierrors.IsForbidden(err)
	}).Should(BeTrue(), "the API server does not act on the changed namespaceSelector")
}

var _ = Describe("an UPDATE the mutation has nothing to do with", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	// A labeled StatefulSet stored without the webhook (created before it
	// was installed) and without a data claim cannot be completed: an UPDATE
	// of its spec is denied, but one that only changes finalizers, and any
	// UPDATE while it is being deleted, must go through.
	It("goes through for a StatefulSet the webhook could not complete", func() {
		excludeNamespace(ns, true)
		DeferCleanup(excludeNamespace, ns, false)
		sts := minimal(ns)
		sts.Finalizers = []string{"example.com/keep"}
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		excludeNamespace(ns, false)

		get(sts)
		sts.Finalizers = append(sts.Finalizers, "example.com/other")
		Expect(k8sClient.Update(ctx, sts)).To(Succeed())
		get(sts)
		Expect(sts.Finalizers).To(HaveLen(2))
		Expect(sts.Spec.Template.Spec.InitContainers).To(BeEmpty(), "an UPDATE of finalizers completed the object")
		Expect(sts.Spec.VolumeClaimTemplates).To(BeEmpty())

		scaled := sts.DeepCopy()
		scaled.Spec.Replicas = ptrTo(int32(5))
		err := k8sClient.Update(ctx, scaled)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "the webhook is not called for the namespace again: %v", err)

		Expect(k8sClient.Delete(ctx, sts)).To(Succeed())
		get(sts)
		Expect(sts.DeletionTimestamp).NotTo(BeNil())
		sts.Finalizers = nil
		Expect(k8sClient.Update(ctx, sts)).To(Succeed(), "the last finalizer of a StatefulSet being deleted cannot come off")
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(sts), &appsv1.StatefulSet{}))
		}).Should(BeTrue())
	})

	It("leaves a completed StatefulSet as stored when only its finalizers change", func() {
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		stored := get(sts.DeepCopy()).(*appsv1.StatefulSet)
		sts = stored.DeepCopy()
		sts.Finalizers = []string{"example.com/keep"}
		Expect(k8sClient.Update(ctx, sts)).To(Succeed())
		after := get(sts.DeepCopy()).(*appsv1.StatefulSet)
		Expect(after.Generation).To(Equal(stored.Generation))
		Expect(after.Annotations).To(HaveKeyWithValue(contract.InjectorVersionAnnotation, contract.InjectorVersion))

		Expect(k8sClient.Delete(ctx, after)).To(Succeed())
		get(after)
		after.Finalizers = nil
		Expect(k8sClient.Update(ctx, after)).To(Succeed())
	})
})

func ptrTo[T any](v T) *T { return &v }
