// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// The controller's own Services are usable as it made them, the role
// Services among them (they select on the role the pod webhook puts on
// each pod, not on the template); another Service of a companion's name is
// reported when it cannot serve.
func TestUnusableServices(t *testing.T) {
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", Labels: map[string]string{contract.EnabledLabel: contract.EnabledValue}},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: "db",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db", contract.StatefulSetLabel: "db"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "mysql", Image: "mysql:8.4"}}},
			},
		},
	}
	companions, err := mutate.BuildCompanions(sts)
	if err != nil {
		t.Fatal(err)
	}
	services := 0
	for _, obj := range companions.Objects() {
		if svc, ok := obj.(*corev1.Service); ok {
			services++
			if problem := unusable(svc, sts); problem != "" {
				t.Errorf("the controller's own Service %s: %s", svc.Name, problem)
			}
		}
	}
	if services < 4 {
		t.Fatalf("%d Services built, want the headless, read, primary and replicas Services", services)
	}
	for name, selector := range map[string]map[string]string{
		"another app":  {"app": "web"},
		"another role": {"app": "db", contract.RoleLabel: "arbiter"},
		"no selector":  nil,
	} {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db-read"}, Spec: corev1.ServiceSpec{Selector: selector}}
		if unusable(svc, sts) == "" {
			t.Errorf("%s: a Service selecting %v is taken as usable", name, selector)
		}
	}
}
