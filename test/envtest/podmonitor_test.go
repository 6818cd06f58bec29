// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/controller"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// podMonitorCRD is the Prometheus Operator's PodMonitor CRD, generated from
// its API module (make podmonitor-crd).
var podMonitorCRD = filepath.Join("testdata", "monitoring.coreos.com_podmonitors.yaml")

var _ = Describe("the exporters' PodMonitor", Ordered, func() {
	var ns string
	BeforeAll(func() { ns = newNamespace() })

	It("is not made, and nothing is reported, where the Prometheus Operator's kind is not served", func() {
		sts := minimal(ns)
		sts.Annotations = map[string]string{contract.MetricsAnnotation: "true"}
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-metrics"), &networkingv1.NetworkPolicy{}) }).Should(Succeed())
		Eventually(eventsFor(sts)).Should(ContainElement(HaveField("Note", ContainSubstring("NetworkPolicy mysql-metrics"))))
		Consistently(eventsFor(sts)).WithTimeout(2 * time.Second).ShouldNot(ContainElement(Or(
			HaveField("Type", "Warning"), HaveField("Note", ContainSubstring("PodMonitor")))))
	})

	It("is made for a StatefulSet with the exporter once the kind is served, and labels each series with the pod's role", func() {
		_, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{podMonitorCRD}, ErrorIfPathMissing: true})
		Expect(err).NotTo(HaveOccurred())

		// The StatefulSet's next change (here a label) has it made.
		sts := minimal(ns)
		Expect(k8sClient.Get(ctx, key(ns, "mysql"), sts)).To(Succeed())
		sts.Labels["team"] = "dba"
		Expect(k8sClient.Update(ctx, sts)).To(Succeed())
		monitor := &monitoringv1.PodMonitor{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-metrics"), monitor) }).Should(Succeed())
		Expect(monitor.OwnerReferences).To(ConsistOf(And(HaveField("Kind", "StatefulSet"), HaveField("UID", sts.UID),
			HaveField("Controller", HaveValue(BeTrue())))))
		Expect(monitor.Labels).To(And(
			HaveKeyWithValue(contract.LabelManagedBy, contract.ManagedBy),
			HaveKeyWithValue(contract.LabelComponent, contract.ComponentMetrics)))
		Expect(monitor.Spec.Selector).To(Equal(metav1.LabelSelector{MatchLabels: map[string]string{contract.StatefulSetLabel: "mysql"}}))
		Expect(monitor.Spec.PodTargetLabels).To(ConsistOf(contract.RoleLabel))
		Expect(monitor.Spec.PodMetricsEndpoints).To(ConsistOf(HaveField("Port", HaveValue(Equal(contract.MetricsPortName)))))
		Eventually(eventsFor(sts)).Should(ContainElement(And(
			HaveField("Reason", controller.ReasonCreated), HaveField("Note", "created PodMonitor mysql-metrics"))))

		By("a StatefulSet without the exporter has none")
		plain := minimal(ns)
		plain.Name = "plain"
		Expect(k8sClient.Create(ctx, plain)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "plain-backup"), &networkingv1.NetworkPolicy{}) }).Should(Succeed())
		Consistently(func() error { return k8sClient.Get(ctx, key(ns, "plain-metrics"), &monitoringv1.PodMonitor{}) }).
			WithTimeout(2 * time.Second).Should(MatchError(ContainSubstring("not found")))
	})

	It("leaves a PodMonitor of that name that is not its own as it is", func() {
		mine := &monitoringv1.PodMonitor{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other-metrics", Labels: map[string]string{"release": "kube-prometheus-stack"}},
			Spec: monitoringv1.PodMonitorSpec{
				Selector:            metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}},
				PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{{Port: ptr.To("web")}},
			},
		}
		Expect(k8sClient.Create(ctx, mine)).To(Succeed())
		sts := minimal(ns)
		sts.Name = "other"
		sts.Annotations = map[string]string{contract.MetricsAnnotation: "true"}
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "other-metrics"), &networkingv1.NetworkPolicy{}) }).Should(Succeed())
		Consistently(func(g Gomega) {
			have := &monitoringv1.PodMonitor{}
			g.Expect(k8sClient.Get(ctx, key(ns, "other-metrics"), have)).To(Succeed())
			g.Expect(have.Spec).To(Equal(mine.Spec))
			g.Expect(have.OwnerReferences).To(BeEmpty())
		}).WithTimeout(2 * time.Second).Should(Succeed())
		Expect(eventsFor(sts)()).NotTo(ContainElement(HaveField("Note", ContainSubstring("created PodMonitor"))))
	})
})
