package envtest

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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
})
