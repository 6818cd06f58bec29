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
	type want struct {
		group, resource string
		operations      []admissionregistrationv1.OperationType
		selects         func(*metav1.LabelSelector) bool
	}
	handlers := map[string]want{
		StatefulSetPath: {"apps", "statefulsets", []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			func(s *metav1.LabelSelector) bool {
				return len(s.MatchLabels) == 1 && s.MatchLabels[contract.EnabledLabel] == contract.EnabledValue && len(s.MatchExpressions) == 0
			}},
		PodPath: {"", "pods", []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			func(s *metav1.LabelSelector) bool {
				return len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 1 &&
					s.MatchExpressions[0].Key == contract.StatefulSetLabel && s.MatchExpressions[0].Operator == metav1.LabelSelectorOpExists
			}},
	}
	seen := map[string]bool{}
	for _, w := range hook.Webhooks {
		if w.ClientConfig.Service == nil || w.ClientConfig.Service.Path == nil {
			t.Errorf("%s: no Service path", w.Name)
			continue
		}
		path := *w.ClientConfig.Service.Path
		h, ok := handlers[path]
		if !ok {
			t.Errorf("%s: path %s is served by no handler", w.Name, path)
			continue
		}
		seen[path] = true
		if len(w.Rules) != 1 || !slices.Equal(w.Rules[0].APIGroups, []string{h.group}) || !slices.Equal(w.Rules[0].Resources, []string{h.resource}) ||
			!slices.Equal(w.Rules[0].Operations, h.operations) {
			t.Errorf("%s: rules %+v, want %s %s %v", w.Name, w.Rules, h.group, h.resource, h.operations)
		}
		if w.ObjectSelector == nil || !h.selects(w.ObjectSelector) {
			t.Errorf("%s: objectSelector %+v does not select what the handler at %s serves", w.Name, w.ObjectSelector, path)
		}
	}
	for path := range handlers {
		if !seen[path] {
			t.Errorf("no webhook sends requests to %s", path)
		}
	}
}
