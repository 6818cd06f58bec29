// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package webhooks

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// FuzzHandle sends arbitrary bytes as the body of an admission request: the
// answer is always a well-formed AdmissionReview with a response, and never
// a panic; a patch applies to the request's object and completes it.
func FuzzHandle(f *testing.F) {
	minimal := minimalJSON(f)
	review := func(op string, obj []byte) []byte {
		b, _ := json.Marshal(map[string]any{
			"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
			"request": map[string]any{
				"uid": "1", "operation": op, "namespace": "default",
				"kind":   map[string]string{"group": "apps", "version": "v1", "kind": "StatefulSet"},
				"object": json.RawMessage(obj), "oldObject": json.RawMessage(obj),
			},
		})
		return b
	}
	f.Add(review("CREATE", minimal))
	f.Add(review("UPDATE", minimal))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"2","kind":{"group":"apps","kind":"StatefulSet"},"operation":"CREATE","object":{"metadata":{"name":"x","labels":{"mysql-replication":"enabled"}}}}}`))
	f.Add([]byte(`{}`))
	hook := newMutator().Webhook()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, StatefulSetPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		hook.ServeHTTP(rec, req)
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer is not JSON: %v: %q", err, rec.Body.String())
		}
		if out.Response == nil {
			t.Fatalf("answer has no response: %q", rec.Body.String())
		}
		if len(out.Response.Patch) > 0 && !out.Response.Allowed {
			t.Fatalf("a denial carries a patch")
		}
		if len(out.Response.Patch) == 0 {
			return
		}
		var in admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &in); err != nil || in.Request == nil {
			t.Fatalf("a patch for a request that does not decode: %v", err)
		}
		patch, err := jsonpatch.DecodePatch(out.Response.Patch)
		if err != nil {
			t.Fatalf("the patch does not decode: %v", err)
		}
		patched, err := patch.Apply(in.Request.Object.Raw)
		if err != nil {
			t.Fatalf("the patch does not apply: %v", err)
		}
		var sts appsv1.StatefulSet
		if err := decode(patched, &sts); err != nil {
			t.Fatalf("the patched object does not decode: %v", err)
		}
		if !mutate.Enabled(&sts) || sts.Annotations[contract.InjectorVersionAnnotation] == "" {
			t.Fatalf("the patched object is not completed: %s", patched)
		}
	})
}
