// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

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
	own := &metav1.LabelSelector{MatchLabels: map[string]string{contract.StatefulSetLabel: "db"}}
	namespace := []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}
	namespaces := func(names ...string) networkingv1.NetworkPolicyPeer {
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: names}}}}
	}
	tests := map[string]struct {
		selector    *metav1.LabelSelector
		annotations map[string]string
		uid         string
		mysqlFrom   []networkingv1.NetworkPolicyPeer
		wantErr     string
	}{
		// Whatever the StatefulSet selects, the policy selects its own pods.
		"labels":         {selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, uid: "u-1", mysqlFrom: namespace},
		"everything":     {selector: &metav1.LabelSelector{}, uid: "u-1", mysqlFrom: namespace},
		"no selector":    {mysqlFrom: namespace},
		"not stored yet": {mysqlFrom: namespace},
		"more namespaces": {annotations: map[string]string{contract.ClientNamespacesAnnotation: "web, ns,api,web"},
			mysqlFrom: append(namespace, namespaces("api", "web"))},
		"every source":  {annotations: map[string]string{contract.ClientNamespacesAnnotation: "*"}},
		"bad namespace": {annotations: map[string]string{contract.ClientNamespacesAnnotation: "web,Bad_Name"}, wantErr: `"Bad_Name" is not a namespace name`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sts := &appsv1.StatefulSet{
				ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "ns", UID: types.UID(tc.uid), Annotations: tc.annotations},
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
				PodSelector: *own,
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{
					{Ports: tcp(3306), From: tc.mysqlFrom},
					{Ports: tcp(3307), From: []networkingv1.NetworkPolicyPeer{{PodSelector: own}}},
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
		})
	}
}
