// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package webhooks

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// The outcomes of an admission, as the metrics count them.
const (
	OutcomeCompleted = "completed" // allowed with a patch: the webhook completed the object
	OutcomeUnchanged = "unchanged" // allowed as it is
	OutcomeDenied    = "denied"    // denied: the object must change (reason: which part)
	OutcomeError     = "error"     // an error answered (reason: bad-request or internal)
)

// deniedReasonKey is the audit annotation where a denial names its reason
// (a mutate.Reason): the API server's audit log records it as
// <webhook name>/denied-reason, and the metrics count denials by it.
const deniedReasonKey = "denied-reason"

// The webhooks' own metrics, served with controller-runtime's on the
// manager's metrics endpoint (controller-runtime counts requests by HTTP
// code and path; these say what the webhook did with them).
var (
	admissions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mysql_replication_admissions_total",
		Help: "Admission requests answered, by webhook (statefulset, pod), outcome (completed, unchanged, denied, error) and reason (what a denial is about; bad-request or internal for errors).",
	}, []string{"webhook", "outcome", "reason"})
	admissionWarnings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mysql_replication_admission_warnings_total",
		Help: "Warnings sent with admission answers (what of the user's own was kept), by webhook.",
	}, []string{"webhook"})
	admissionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "mysql_replication_admission_duration_seconds",
		Help: "Time to answer an admission request, decoding to encoded patch, by webhook and outcome.",
		// 50 µs to about 3 s: an answer takes a fraction of a millisecond
		// and the API server gives up after timeoutSeconds (10 s).
		Buckets: prometheus.ExponentialBuckets(50e-6, 4, 9),
	}, []string{"webhook", "outcome"})
)

func init() {
	metrics.Registry.MustRegister(admissions, admissionWarnings, admissionDuration)
}

// counted answers with h and counts the answer in the webhook's metrics.
type counted struct {
	webhook string
	admission.Handler
}

func (h counted) Handle(ctx context.Context, req admission.Request) admission.Response {
	start := time.Now()
	resp := h.Handler.Handle(ctx, req)
	outcome, reason := outcomeOf(&resp)
	admissions.WithLabelValues(h.webhook, outcome, reason).Inc()
	if n := len(resp.Warnings); n > 0 {
		admissionWarnings.WithLabelValues(h.webhook).Add(float64(n))
	}
	admissionDuration.WithLabelValues(h.webhook, outcome).Observe(time.Since(start).Seconds())
	return resp
}

// outcomeOf classifies an answer: admission.Denied answers 403, Errored
// the error's code.
func outcomeOf(resp *admission.Response) (outcome, reason string) {
	switch {
	case resp.Allowed && (len(resp.Patch) > 0 || len(resp.Patches) > 0):
		return OutcomeCompleted, ""
	case resp.Allowed:
		return OutcomeUnchanged, ""
	case resp.Result != nil && resp.Result.Code == http.StatusForbidden:
		if reason := resp.AuditAnnotations[deniedReasonKey]; reason != "" {
			return OutcomeDenied, reason
		}
		return OutcomeDenied, "other"
	case resp.Result != nil && resp.Result.Code >= 400 && resp.Result.Code < 500:
		return OutcomeError, "bad-request"
	default:
		return OutcomeError, "internal"
	}
}

// denied answers a denial that names its reason for the audit log and the
// metrics.
func denied(reason, message string) admission.Response {
	resp := admission.Denied(message)
	resp.AuditAnnotations = map[string]string{deniedReasonKey: reason}
	return resp
}
