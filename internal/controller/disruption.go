// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// DisruptionBudgetName is the PodDisruptionBudget of a StatefulSet's pods:
// the StatefulSet's own name (another kind than its Services).
func DisruptionBudgetName(sts *appsv1.StatefulSet) string { return sts.Name }

// BuildDisruptionBudget builds the PodDisruptionBudget that lets a drain
// or any other eviction take at most one of the StatefulSet's pods at a
// time, selecting them by the label the webhook puts on its pod template.
// It returns nil for a StatefulSet of one pod: a budget there would either
// block every drain of its node or allow what no budget does. When the
// StatefulSet has a UID (it is stored), the budget carries a controller
// owner reference to it.
func BuildDisruptionBudget(sts *appsv1.StatefulSet) *policyv1.PodDisruptionBudget {
	if sts.Spec.Replicas != nil && *sts.Spec.Replicas <= 1 {
		return nil
	}
	meta := mutate.CompanionMeta(sts, DisruptionBudgetName(sts), contract.ComponentDisruption)
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: meta,
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &one,
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{contract.StatefulSetLabel: sts.Name}},
		},
	}
}
