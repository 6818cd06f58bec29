// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package webhooks

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// config/webhook/manifests.yaml is written by hand (controller-gen's
// markers cannot express its objectSelector): it must send each handler
// what it handles, at the path it is served on, and only objects labeled
// for it.
func TestManifestAgreesWithHandlers(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "webhook", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hook admissionregistrationv1.MutatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(b, &hook); err != nil {
		t.Fatal(err)
	}
	exists := func(key string) func(*metav1.LabelSelector) bool {
		return func(s *metav1.LabelSelector) bool {
			return len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 1 &&
				s.MatchExpressions[0].Key == key && s.MatchExpressions[0].Operator == metav1.LabelSelectorOpExists
		}
	}
	type want struct {
		path, group, resource string
		operations            []admissionregistrationv1.OperationType
		selects               func(*metav1.LabelSelector) bool
	}
	createUpdate := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	// Each webhook by its name: what it sends where, for which objects.
	webhooks := map[string]want{
		"statefulsets.mysql-replication.io": {StatefulSetPath, "apps", "statefulsets", createUpdate,
			func(s *metav1.LabelSelector) bool {
				return len(s.MatchLabels) == 1 && s.MatchLabels[contract.EnabledLabel] == contract.EnabledValue && len(s.MatchExpressions) == 0
			}},
		// The pods of completed StatefulSets, and any pod with a role label.
		"pods.mysql-replication.io":      {PodPath, "", "pods", createUpdate, exists(contract.StatefulSetLabel)},
		"pod-roles.mysql-replication.io": {PodPath, "", "pods", createUpdate, exists(contract.RoleLabel)},
	}
	if len(hook.Webhooks) != len(webhooks) {
		t.Errorf("%d webhooks, want %d", len(hook.Webhooks), len(webhooks))
	}
	seen := map[string]bool{}
	for _, w := range hook.Webhooks {
		h, ok := webhooks[w.Name]
		if !ok {
			t.Errorf("webhook %s: unexpected", w.Name)
			continue
		}
		if w.ClientConfig.Service == nil || w.ClientConfig.Service.Path == nil || *w.ClientConfig.Service.Path != h.path {
			t.Errorf("%s: not sent to %s", w.Name, h.path)
			continue
		}
		seen[h.path] = true
		if len(w.Rules) != 1 || !slices.Equal(w.Rules[0].APIGroups, []string{h.group}) || !slices.Equal(w.Rules[0].Resources, []string{h.resource}) ||
			!slices.Equal(w.Rules[0].Operations, h.operations) {
			t.Errorf("%s: rules %+v, want %s %s %v", w.Name, w.Rules, h.group, h.resource, h.operations)
		}
		if w.ObjectSelector == nil || !h.selects(w.ObjectSelector) {
			t.Errorf("%s: objectSelector %+v does not select what the handler at %s serves", w.Name, w.ObjectSelector, h.path)
		}
	}
	handlers := map[string]bool{StatefulSetPath: true, PodPath: true}
	for path := range handlers {
		if !seen[path] {
			t.Errorf("no webhook sends requests to %s", path)
		}
	}
}
