package admission

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

// FuzzHandle sends arbitrary bytes as the body of an admission request: the
// answer is always a well-formed AdmissionReview with a response, and never
// a panic.
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
		req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
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
	})
}
