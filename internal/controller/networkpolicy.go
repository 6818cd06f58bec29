package controller

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// BackupNetworkPolicyName is the NetworkPolicy that guards the backup port
// of a StatefulSet's pods.
func BackupNetworkPolicyName(sts *appsv1.StatefulSet) string {
	return sts.Name + contract.BackupNetworkPolicyTail
}

// BuildBackupNetworkPolicy builds the NetworkPolicy that selects the
// StatefulSet's pods and admits ingress to the MySQL port from anywhere and
// to the backup port only from pods of the same StatefulSet (its selector, in its
// namespace). Any other port of those pods takes no ingress unless another
// NetworkPolicy admits it. When the StatefulSet has a UID (it is stored), the
// policy carries a controller owner reference to it.
func BuildBackupNetworkPolicy(sts *appsv1.StatefulSet) (*networkingv1.NetworkPolicy, error) {
	sel := sts.Spec.Selector
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		// An empty pod selector would select every pod of the namespace.
		return nil, fmt.Errorf("StatefulSet %q has no spec.selector to select its pods by", sts.Name)
	}
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		return nil, fmt.Errorf("StatefulSet %q: spec.selector: %w", sts.Name, err)
	}
	tcp := corev1.ProtocolTCP
	port := func(p int32) []networkingv1.NetworkPolicyPort {
		n := intstr.FromInt32(p)
		return []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &n}}
	}
	meta := metav1.ObjectMeta{
		Name:      BackupNetworkPolicyName(sts),
		Namespace: sts.Namespace,
		Labels: map[string]string{
			contract.LabelName:      contract.AppName,
			contract.LabelInstance:  sts.Name,
			contract.LabelComponent: contract.ComponentBackup,
			contract.LabelManagedBy: contract.ManagedBy,
			contract.LabelPartOf:    sts.Name,
		},
	}
	if sts.UID != "" {
		meta.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))}
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: meta,
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: *sel.DeepCopy(),
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				// Clients, from anywhere: no peers means every source.
				{Ports: port(contract.MySQLPort)},
				// Backups, to the next pod of the same StatefulSet only.
				{Ports: port(contract.BackupPort), From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel.DeepCopy()}}},
			},
		},
	}, nil
}
