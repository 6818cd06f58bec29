// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	"encoding/json"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// metadataList is a metadata-only list of kind, as the cache holds it.
func metadataList(kind string) *metav1.PartialObjectMetadataList {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind + "List"))
	if kind == "NetworkPolicy" {
		list.SetGroupVersionKind(networkingv1.SchemeGroupVersion.WithKind(kind + "List"))
	}
	return list
}

var _ = Describe("the manager's cache", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("holds no Secret and no companion's content, whatever tenants label", func() {
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-backup"), &networkingv1.NetworkPolicy{}) }).Should(Succeed())

		// A tenant's ConfigMap with the managed-by label, a large value and
		// large annotations.
		big := strings.Repeat("x", 200*1024)
		tenant := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name: "tenant", Namespace: ns,
				Labels:      map[string]string{contract.LabelManagedBy: contract.ManagedBy},
				Annotations: map[string]string{"big": big},
			},
			Data: map[string]string{"big": big},
		}
		Expect(k8sClient.Create(ctx, tenant)).To(Succeed())

		c := mgr.GetCache()
		for _, list := range []client.ObjectList{&corev1.SecretList{}, &corev1.ConfigMapList{}, &corev1.ServiceList{}, &networkingv1.NetworkPolicyList{}} {
			err := c.List(ctx, list, client.InNamespace(ns))
			Expect(err).To(BeAssignableToTypeOf(&cache.ErrResourceNotCached{}), "%T is cached whole", list)
		}
		Expect(c.List(ctx, metadataList("Secret"), client.InNamespace(ns))).To(BeAssignableToTypeOf(&cache.ErrResourceNotCached{}), "Secrets are cached")

		for _, kind := range []string{"ConfigMap", "Service", "NetworkPolicy"} {
			Eventually(func(g Gomega) {
				list := metadataList(kind)
				g.Expect(c.List(ctx, list, client.InNamespace(ns))).To(Succeed())
				g.Expect(list.Items).NotTo(BeEmpty())
				for _, item := range list.Items {
					g.Expect(item.Labels).To(BeEmpty())
					g.Expect(item.Annotations).To(BeEmpty())
					g.Expect(item.ManagedFields).To(BeEmpty())
					if item.Name != tenant.Name {
						g.Expect(item.OwnerReferences).To(ConsistOf(HaveField("UID", sts.UID)), "%s %s", kind, item.Name)
					}
				}
			}).Should(Succeed())
		}
		Eventually(func() []string {
			list := metadataList("ConfigMap")
			Expect(c.List(ctx, list, client.InNamespace(ns))).To(Succeed())
			return names(list.Items, func(o metav1.PartialObjectMetadata) string { return o.Name })
		}).Should(ConsistOf("mysql", "tenant"))
	})

	It("holds a labeled StatefulSet as what the controller reads, and reports one too large to hold", func() {
		big := strings.Repeat("x", 200*1024)
		sts := minimal(ns)
		sts.Annotations = map[string]string{"big": big}
		sts.Spec.Template.Annotations = map[string]string{"big": big}
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		c := mgr.GetCache()
		Eventually(func(g Gomega) {
			cached := &appsv1.StatefulSet{}
			g.Expect(c.Get(ctx, key(ns, sts.Name), cached)).To(Succeed())
			g.Expect(cached.Annotations).NotTo(HaveKey("big"))
			g.Expect(cached.Spec.Template.Annotations).To(BeEmpty())
			g.Expect(cached.Spec.Template.Spec.InitContainers).To(BeEmpty())
			b, err := json.Marshal(cached)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(len(b)).To(BeNumerically("<", 2048))
		}).Should(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-read"), &corev1.Service{}) }).Should(Succeed())

		large := minimal(ns)
		large.Name = "large"
		for i := 0; i < 300; i++ {
			k := fmt.Sprintf("label-%03d-%s", i, strings.Repeat("k", 40))
			large.Spec.Selector.MatchLabels[k] = strings.Repeat("v", 63)
			large.Spec.Template.Labels[k] = strings.Repeat("v", 63)
		}
		Expect(k8sClient.Create(ctx, large)).To(Succeed())
		Eventually(eventsFor(large)).Should(ContainElement(And(
			HaveField("Type", corev1.EventTypeWarning), HaveField("Note", ContainSubstring("more than the 16384 the controller keeps")))))
		Consistently(func() error { return k8sClient.Get(ctx, key(ns, "large-read"), &corev1.Service{}) }).Should(Not(Succeed()))
	})
})
