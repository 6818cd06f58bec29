// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// BackupNetworkPolicyName is the NetworkPolicy that guards the ports of a
// StatefulSet's pods.
func BackupNetworkPolicyName(sts *appsv1.StatefulSet) string {
	return sts.Name + contract.BackupNetworkPolicyTail
}

// namespaceNameLabel is set by Kubernetes on every namespace to its name.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// BuildBackupNetworkPolicy builds the NetworkPolicy that selects the
// StatefulSet's own pods (by the label the webhook puts on its pod
// template, never by a selector the StatefulSet's author chooses) and
// admits ingress to the MySQL port from the pods of the StatefulSet's
// namespace (and of the namespaces its client-namespaces annotation names,
// or from every source when it says so), and to the backup port only from
// the StatefulSet's own pods. Any other port of those pods takes no
// ingress unless another NetworkPolicy admits it. When the StatefulSet has
// a UID (it is stored), the policy carries a controller owner reference to
// it.
func BuildBackupNetworkPolicy(sts *appsv1.StatefulSet) (*networkingv1.NetworkPolicy, error) {
	clients, err := mutate.ClientsOf(sts)
	if err != nil {
		return nil, err
	}
	tcp := corev1.ProtocolTCP
	port := func(p int32) []networkingv1.NetworkPolicyPort {
		n := intstr.FromInt32(p)
		return []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &n}}
	}
	own := func() *metav1.LabelSelector { return ownPods(sts) }
	var mysqlFrom []networkingv1.NetworkPolicyPeer // none: every source
	if !clients.All {
		// A peer with a pod selector alone is in the policy's namespace.
		mysqlFrom = []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}
		if len(clients.Namespaces) > 0 {
			mysqlFrom = append(mysqlFrom, networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: namespaceNameLabel, Operator: metav1.LabelSelectorOpIn, Values: clients.Namespaces}},
			}})
		}
	}
	meta := mutate.CompanionMeta(sts, BackupNetworkPolicyName(sts), contract.ComponentBackup)
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: meta,
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: *own(),
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				// Clients (and, with the CLONE plugin, cloning replicas).
				{Ports: port(contract.MySQLPort), From: mysqlFrom},
				// Backups, to the next pod of the same StatefulSet only.
				{Ports: port(contract.BackupPort), From: []networkingv1.NetworkPolicyPeer{{PodSelector: own()}}},
			},
		},
	}, nil
}

// ownPods selects the pods of sts, and no other StatefulSet's, whatever
// its own selector: the label the webhook puts on its pod template.
func ownPods(sts *appsv1.StatefulSet) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{contract.StatefulSetLabel: sts.Name}}
}

// MetricsCompanionName is the name of sts's metrics NetworkPolicy and of
// its exporters' PodMonitor.
func MetricsCompanionName(sts *appsv1.StatefulSet) string {
	return sts.Name + contract.MetricsTail
}

// BuildMetricsNetworkPolicy is, for a StatefulSet annotated
// contract.MetricsAnnotation=true, the NetworkPolicy that admits the
// exporter's port from anywhere (the backup NetworkPolicy admits only the
// MySQL and backup ports, and Prometheus runs in a namespace of its own);
// nil otherwise. NetworkPolicies add up: the pods' other ports stay as the
// backup policy has them.
func BuildMetricsNetworkPolicy(sts *appsv1.StatefulSet) (*networkingv1.NetworkPolicy, error) {
	enabled, err := mutate.MetricsEnabled(sts)
	if err != nil || !enabled {
		return nil, err
	}
	tcp, port := corev1.ProtocolTCP, intstr.FromInt32(contract.MetricsPort)
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: mutate.CompanionMeta(sts, MetricsCompanionName(sts), contract.ComponentMetrics),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: *ownPods(sts),
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}}}},
		},
	}, nil
}
