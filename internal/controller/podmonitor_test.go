// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

func TestBuildPodMonitor(t *testing.T) {
	tests := map[string]struct {
		annotations map[string]string
		want        bool
		wantErr     bool
	}{
		"no annotation":  {},
		"metrics off":    {annotations: map[string]string{contract.MetricsAnnotation: "false"}},
		"metrics on":     {annotations: map[string]string{contract.MetricsAnnotation: "true"}, want: true},
		"not a boolean":  {annotations: map[string]string{contract.MetricsAnnotation: "yes please"}, wantErr: true},
		"other settings": {annotations: map[string]string{contract.MaxLagAnnotation: "30"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", UID: types.UID("u-1"), Annotations: tt.annotations}}
			got, err := BuildPodMonitor(sts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want one: %v", err, tt.wantErr)
			}
			if (got != nil) != tt.want {
				t.Fatalf("PodMonitor %v, want one: %v", got, tt.want)
			}
			if got == nil {
				return
			}
			if got.Name != "db-metrics" || got.Namespace != "shop" || got.Kind != monitoringv1.PodMonitorsKind || got.APIVersion != "monitoring.coreos.com/v1" {
				t.Errorf("identity %s %s/%s", got.APIVersion+"/"+got.Kind, got.Namespace, got.Name)
			}
			if ref := metav1.GetControllerOf(got); ref == nil || ref.UID != sts.UID {
				t.Errorf("controller reference %v, want the StatefulSet's", ref)
			}
			if got.Labels[contract.LabelComponent] != contract.ComponentMetrics || got.Labels[contract.LabelManagedBy] != contract.ManagedBy {
				t.Errorf("labels %v", got.Labels)
			}
			if sel := got.Spec.Selector.MatchLabels; len(sel) != 1 || sel[contract.StatefulSetLabel] != "db" || len(got.Spec.Selector.MatchExpressions) > 0 {
				t.Errorf("selector %v, want the StatefulSet's own pods", got.Spec.Selector)
			}
			if eps := got.Spec.PodMetricsEndpoints; len(eps) != 1 || eps[0].Port == nil || *eps[0].Port != contract.MetricsPortName || eps[0].Path != "/metrics" {
				t.Errorf("endpoints %+v, want the port %q", eps, contract.MetricsPortName)
			}
			if l := got.Spec.PodTargetLabels; len(l) != 1 || l[0] != contract.RoleLabel {
				t.Errorf("pod target labels %v, want the role", l)
			}
		})
	}
}
