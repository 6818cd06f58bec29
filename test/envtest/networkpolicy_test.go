// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/controller"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// tcpPort is a NetworkPolicy port.
func tcpPort(p int32) networkingv1.NetworkPolicyPort {
	tcp, n := corev1.ProtocolTCP, intstr.FromInt32(p)
	return networkingv1.NetworkPolicyPort{Protocol: &tcp, Port: &n}
}

var _ = Describe("the backup NetworkPolicy", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("selects the StatefulSet's own pods and admits the MySQL port from its namespace, the backup port from its own pods only", func() {
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		policy := &networkingv1.NetworkPolicy{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-backup"), policy) }).Should(Succeed())

		Expect(policy.OwnerReferences).To(ConsistOf(And(
			HaveField("Kind", "StatefulSet"), HaveField("Name", "mysql"), HaveField("UID", sts.UID),
			HaveField("Controller", HaveValue(BeTrue())))))
		Expect(policy.Labels).To(And(
			HaveKeyWithValue(contract.LabelManagedBy, contract.ManagedBy),
			HaveKeyWithValue(contract.LabelInstance, "mysql"),
			HaveKeyWithValue(contract.LabelComponent, contract.ComponentBackup)))

		own := metav1.LabelSelector{MatchLabels: map[string]string{contract.StatefulSetLabel: "mysql"}}
		Expect(policy.Spec.PodSelector).To(Equal(own))
		Expect(policy.Spec.PolicyTypes).To(ConsistOf(networkingv1.PolicyTypeIngress))
		Expect(policy.Spec.Egress).To(BeEmpty())
		Expect(policy.Spec.Ingress).To(ConsistOf(
			networkingv1.NetworkPolicyIngressRule{
				Ports: []networkingv1.NetworkPolicyPort{tcpPort(contract.MySQLPort)},
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}},
			},
			networkingv1.NetworkPolicyIngressRule{
				Ports: []networkingv1.NetworkPolicyPort{tcpPort(contract.BackupPort)},
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &own}},
			},
		))
		Eventually(eventsFor(sts)).Should(ContainElement(And(
			HaveField("Reason", controller.ReasonCreated), HaveField("Note", ContainSubstring("NetworkPolicy mysql-backup")))))
	})

	It("has a second NetworkPolicy open the exporter's port to every source when the metrics annotation is set", func() {
		sts := minimal(ns)
		sts.Annotations = map[string]string{contract.MetricsAnnotation: "true"}
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		policy := &networkingv1.NetworkPolicy{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-metrics"), policy) }).Should(Succeed())
		Expect(policy.Labels).To(HaveKeyWithValue(contract.LabelComponent, contract.ComponentMetrics))
		Expect(policy.OwnerReferences).To(ConsistOf(HaveField("UID", sts.UID)))
		Expect(policy.Spec.PodSelector).To(Equal(metav1.LabelSelector{MatchLabels: map[string]string{contract.StatefulSetLabel: "mysql"}}))
		Expect(policy.Spec.Ingress).To(ConsistOf(networkingv1.NetworkPolicyIngressRule{
			Ports: []networkingv1.NetworkPolicyPort{tcpPort(contract.MetricsPort)},
		}))

		plain := minimal(ns)
		plain.Name = "plain"
		Expect(k8sClient.Create(ctx, plain)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "plain-backup"), &networkingv1.NetworkPolicy{}) }).Should(Succeed())
		Consistently(func() error { return k8sClient.Get(ctx, key(ns, "plain-metrics"), &networkingv1.NetworkPolicy{}) }).
			WithTimeout(2 * time.Second).Should(MatchError(ContainSubstring("not found")))
	})

	It("admits the MySQL port from the namespaces the annotation names, and denies an annotation that names none", func() {
		sts := minimal(ns)
		sts.Annotations = map[string]string{contract.ClientNamespacesAnnotation: "web,api"}
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		policy := &networkingv1.NetworkPolicy{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-backup"), policy) }).Should(Succeed())
		Expect(policy.Spec.Ingress[0].From).To(ConsistOf(
			networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{}},
			networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: []string{"api", "web"}}}}},
		))

		bad := minimal(ns)
		bad.Name = "other"
		bad.Annotations = map[string]string{contract.ClientNamespacesAnnotation: "web;api"}
		err := k8sClient.Create(ctx, bad)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("is not a namespace name"))
	})

	It("leaves a user's own NetworkPolicy of that name alone", func() {
		own := &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "mysql-backup", Namespace: ns, Labels: map[string]string{"owner": "user"}},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "mysql"}},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
			},
		}
		Expect(k8sClient.Create(ctx, own)).To(Succeed())
		before := get(own.DeepCopy())

		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-read"), &corev1.Service{}) }).Should(Succeed())
		Consistently(func() string {
			return get(own.DeepCopy()).GetResourceVersion()
		}).WithTimeout(2 * time.Second).Should(Equal(before.GetResourceVersion()))
		after := get(own.DeepCopy()).(*networkingv1.NetworkPolicy)
		Expect(after.OwnerReferences).To(BeEmpty())
		Expect(after.Spec).To(Equal(own.Spec))
	})
})
