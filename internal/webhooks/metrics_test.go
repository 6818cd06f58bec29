// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package webhooks

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// TestMetricsCountEachOutcome answers requests through the webhooks as the
// server serves them and reads the counters of controller-runtime's
// registry: one admission per request under its outcome and reason, the
// warnings sent, one latency observation.
func TestMetricsCountEachOutcome(t *testing.T) {
	minimal := minimalJSON(t)
	completed := applyPatch(t, minimal, newMutator().Handle(context.Background(), request(admissionv1.Create, stsKind, minimal, nil)))
	twoContainers := []byte(`{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"a","labels":{"mysql-replication":"enabled"}},
		"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"x","image":"i"},{"name":"y","image":"i"}]}}}}`)
	// The user's own sidecar is kept, with a warning that says so.
	ownSidecar := bytes.Replace(minimal, []byte(`"containers":[`), []byte(`"containers":[{"name":"xtrabackup","image":"mine"},`), 1)
	badLag := bytes.Replace(minimal, []byte(`"labels":{`), []byte(`"annotations":{"mysql-replication.io/max-lag-seconds":"1m"},"labels":{`), 1)
	podKind := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	replicaPod := func(role string) []byte {
		return []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"db-1","ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"db","uid":"u","controller":true}],` +
			`"labels":{"mysql-replication.io/statefulset":"db","mysql-replication.io/role":"` + role + `"}},"spec":{"containers":[{"name":"c","image":"i"}]}}`)
	}

	statefulSets := NewStatefulSetMutator(mutate.DefaultConfig()).Webhook()
	pods := NewPodRoleLabeler(clientgoscheme.Scheme).Webhook()
	tests := map[string]struct {
		webhook          *admission.Webhook
		name             string
		req              admission.Request
		outcome, reason  string
		warnings         bool
		auditAnnotations bool
	}{
		"completed":               {webhook: statefulSets, name: "statefulset", req: request(admissionv1.Create, stsKind, minimal, nil), outcome: OutcomeCompleted},
		"complete already":        {webhook: statefulSets, name: "statefulset", req: request(admissionv1.Create, stsKind, completed, nil), outcome: OutcomeUnchanged},
		"the user's sidecar kept": {webhook: statefulSets, name: "statefulset", req: request(admissionv1.Create, stsKind, ownSidecar, nil), outcome: OutcomeCompleted, warnings: true},
		"no database container": {webhook: statefulSets, name: "statefulset", req: request(admissionv1.Create, stsKind, twoContainers, nil),
			outcome: OutcomeDenied, reason: string(mutate.ReasonContainers), auditAnnotations: true},
		"a lag limit that is no number": {webhook: statefulSets, name: "statefulset", req: request(admissionv1.Create, stsKind, badLag, nil),
			outcome: OutcomeDenied, reason: string(mutate.ReasonReadiness), auditAnnotations: true},
		"another kind":   {webhook: statefulSets, name: "statefulset", req: request(admissionv1.Create, podKind, minimal, nil), outcome: OutcomeError, reason: "bad-request"},
		"a pod labeled":  {webhook: pods, name: "pod", req: request(admissionv1.Create, podKind, replicaPod("primary"), nil), outcome: OutcomeCompleted},
		"a pod as it is": {webhook: pods, name: "pod", req: request(admissionv1.Create, podKind, replicaPod("replica"), nil), outcome: OutcomeUnchanged},
		"a pod's role taken": {webhook: pods, name: "pod", req: request(admissionv1.Update, podKind, replicaPod("primary"), replicaPod("replica")),
			outcome: OutcomeDenied, reason: roleLabelReason, auditAnnotations: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			count := admissions.WithLabelValues(tc.name, tc.outcome, tc.reason)
			before := testutil.ToFloat64(count)
			warningsBefore := testutil.ToFloat64(admissionWarnings.WithLabelValues(tc.name))
			observationsBefore := observations(t, tc.name, tc.outcome)

			resp := tc.webhook.Handle(context.Background(), tc.req)

			if got := testutil.ToFloat64(count) - before; got != 1 {
				t.Errorf("admissions{webhook=%q,outcome=%q,reason=%q} grew by %v, not 1 (answer: %+v)", tc.name, tc.outcome, tc.reason, got, resp.Result)
			}
			sent := testutil.ToFloat64(admissionWarnings.WithLabelValues(tc.name)) - warningsBefore
			if sent != float64(len(resp.Warnings)) || tc.warnings != (sent > 0) {
				t.Errorf("warnings counted %v, sent %d (%q)", sent, len(resp.Warnings), resp.Warnings)
			}
			if got := observations(t, tc.name, tc.outcome) - observationsBefore; got != 1 {
				t.Errorf("%d latency observations, not 1", got)
			}
			if got := resp.AuditAnnotations[deniedReasonKey]; tc.auditAnnotations != (got != "") || tc.auditAnnotations && got != tc.reason {
				t.Errorf("audit annotation %s=%q, want %q", deniedReasonKey, got, tc.reason)
			}
		})
	}
}

// observations is the count of the latency histogram's series.
func observations(t *testing.T, webhook, outcome string) uint64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "mysql_replication_admission_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["webhook"] == webhook && labels["outcome"] == outcome {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

// TestMetricsAreDocumented keeps the README's list of the webhook's metrics
// true.
func TestMetricsAreDocumented(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	for _, name := range []string{"mysql_replication_admissions_total", "mysql_replication_admission_warnings_total", "mysql_replication_admission_duration_seconds"} {
		if !strings.Contains(readme, name) {
			t.Errorf("README.md does not name the metric %s", name)
		}
	}
	for _, r := range mutate.Reasons() {
		if !strings.Contains(readme, "`"+string(r)+"`") {
			t.Errorf("README.md does not list the denial reason `%s`", r)
		}
	}
}
