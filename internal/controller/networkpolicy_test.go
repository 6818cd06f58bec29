package controller

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

func tcp(p int32) []networkingv1.NetworkPolicyPort {
	proto, n := corev1.ProtocolTCP, intstr.FromInt32(p)
	return []networkingv1.NetworkPolicyPort{{Protocol: &proto, Port: &n}}
}

func TestBuildBackupNetworkPolicy(t *testing.T) {
	byLabels := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	byExpression := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"db"}}}}
	tests := map[string]struct {
		selector *metav1.LabelSelector
		uid      string
		wantErr  string
	}{
		"labels":         {selector: byLabels, uid: "u-1"},
		"expressions":    {selector: byExpression, uid: "u-1"},
		"not stored yet": {selector: byLabels},
		"no selector":    {wantErr: "no spec.selector"},
		"empty selector": {selector: &metav1.LabelSelector{}, wantErr: "no spec.selector"},
		"bad selector":   {selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}, wantErr: "spec.selector"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sts := &appsv1.StatefulSet{
				ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "ns", UID: types.UID(tc.uid)},
				Spec:       appsv1.StatefulSetSpec{Selector: tc.selector},
			}
			got, err := BuildBackupNetworkPolicy(sts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := networkingv1.NetworkPolicySpec{
				PodSelector: *tc.selector,
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{
					{Ports: tcp(3306)},
					{Ports: tcp(3307), From: []networkingv1.NetworkPolicyPeer{{PodSelector: tc.selector}}},
				},
			}
			if diff := cmp.Diff(want, got.Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if got.Name != "db-backup" || got.Namespace != "ns" {
				t.Errorf("named %s/%s", got.Namespace, got.Name)
			}
			if got.Labels[contract.LabelManagedBy] != contract.ManagedBy || got.Labels[contract.LabelInstance] != "db" || got.Labels[contract.LabelComponent] != contract.ComponentBackup {
				t.Errorf("labels %v", got.Labels)
			}
			owners := got.OwnerReferences
			if tc.uid == "" {
				if len(owners) != 0 {
					t.Errorf("owner references %v for a StatefulSet not stored", owners)
				}
			} else if len(owners) != 1 || owners[0].UID != sts.UID || owners[0].Kind != "StatefulSet" || owners[0].Controller == nil || !*owners[0].Controller {
				t.Errorf("owner references %+v", owners)
			}
			// The policy holds copies: changing it leaves the StatefulSet's selector as it was.
			got.Spec.PodSelector.MatchLabels = map[string]string{"changed": "yes"}
			got.Spec.Ingress[1].From[0].PodSelector.MatchLabels = map[string]string{"changed": "yes"}
			if sts.Spec.Selector.MatchLabels["changed"] != "" {
				t.Error("the policy shares the StatefulSet's selector")
			}
		})
	}
}
