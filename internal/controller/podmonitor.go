// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"context"
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// BuildPodMonitor is, for a StatefulSet annotated
// contract.MetricsAnnotation=true, the Prometheus Operator's PodMonitor of
// its exporters: the port named contract.MetricsPortName of its pods, each
// series labeled with the pod's role (primary or replica); nil otherwise.
func BuildPodMonitor(sts *appsv1.StatefulSet) (*monitoringv1.PodMonitor, error) {
	enabled, err := mutate.MetricsEnabled(sts)
	if err != nil || !enabled {
		return nil, err
	}
	return &monitoringv1.PodMonitor{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.SchemeGroupVersion.String(), Kind: monitoringv1.PodMonitorsKind},
		ObjectMeta: mutate.CompanionMeta(sts, MetricsCompanionName(sts), contract.ComponentMetrics),
		Spec: monitoringv1.PodMonitorSpec{
			Selector:        *ownPods(sts),
			PodTargetLabels: []string{contract.RoleLabel},
			PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{{
				Port: ptr.To(contract.MetricsPortName),
				Path: "/metrics",
			}},
		},
	}, nil
}

// ensurePodMonitor creates sts's PodMonitor when the exporter is enabled
// and the Prometheus Operator's kind is served; where it is not, nothing is
// reported: a cluster without the operator scrapes the exporters as it
// scrapes any pod. The kind is looked up at each reconcile, so an operator
// installed later gets the PodMonitor at the StatefulSet's next change.
func (r *CompanionReconciler) ensurePodMonitor(ctx context.Context, sts *appsv1.StatefulSet) error {
	monitor, err := BuildPodMonitor(sts)
	if err != nil || monitor == nil {
		// An invalid annotation is the metrics NetworkPolicy's to report.
		return nil
	}
	err = r.ensure(ctx, sts, monitor)
	if meta.IsNoMatchError(err) {
		log.FromContext(ctx).V(1).Info("the Prometheus Operator's PodMonitor is not served; no PodMonitor", "name", monitor.Name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("the exporters' PodMonitor: %w", err)
	}
	return nil
}
