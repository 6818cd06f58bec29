// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/fixtures"
)

func newMutator() *StatefulSetMutator {
	return NewStatefulSetMutator(mutate.DefaultConfig())
}

func minimalJSON(t testing.TB) []byte {
	t.Helper()
	j, err := yaml.YAMLToJSON(fixtures.Minimal())
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func request(op admissionv1.Operation, kind metav1.GroupVersionKind, obj, old []byte) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "1", Kind: kind, Operation: op, Namespace: "default",
		Object: runtime.RawExtension{Raw: obj}, OldObject: runtime.RawExtension{Raw: old},
	}}
}

var stsKind = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}

// applyPatch applies a response's patch to raw as the API server would.
func applyPatch(t *testing.T, raw []byte, resp admission.Response) []byte {
	t.Helper()
	if len(resp.Patches) == 0 {
		return raw
	}
	ops, err := json.Marshal(resp.Patches)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jsonpatch.DecodePatch(ops)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Apply(raw)
	if err != nil {
		t.Fatalf("patch does not apply: %v", err)
	}
	return out
}

func TestHandle(t *testing.T) {
	minimal := minimalJSON(t)
	unlabeled := bytes.Replace(minimal, []byte(`"mysql-replication":"enabled"`), []byte(`"x":"y"`), 1)
	ambiguous := []byte(`{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"a","labels":{"mysql-replication":"enabled"}},
		"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"x","image":"i"},{"name":"y","image":"i"}]}}}}`)
	// Stored without the webhook, labeled, with no data claim: it cannot be
	// completed, and an UPDATE that completes it is denied.
	noData := []byte(`{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"a","uid":"u","labels":{"mysql-replication":"enabled"},"finalizers":["example.com/keep"]},
		"spec":{"serviceName":"a","selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"mysql","image":"mysql:5.7"}]}}}}`)
	edit := func(raw []byte, pairs ...string) []byte {
		return []byte(strings.NewReplacer(pairs...).Replace(string(raw)))
	}
	noDataDeleting := edit(noData, `"uid":"u"`, `"uid":"u","deletionTimestamp":"2025-01-01T00:00:00Z"`)
	noDataFinalized := edit(noDataDeleting, `"finalizers":["example.com/keep"]`, `"finalizers":[]`)
	noDataAnotherFinalizer := edit(noData, `["example.com/keep"]`, `["example.com/keep","example.com/other"]`)
	noDataStatus := edit(noData, `"spec":`, `"status":{"replicas":3,"readyReplicas":3},"spec":`)
	noDataScaled := edit(noData, `"serviceName":"a"`, `"serviceName":"a","replicas":5`)
	noDataAnnotated := edit(noData, `"uid":"u"`, `"uid":"u","annotations":{"mysql-replication.io/credentials-secret":"other"}`)
	tests := map[string]struct {
		req         admission.Request
		wantAllowed bool
		wantCode    int32
		wantPatch   bool
		wantMessage string
	}{
		"create labeled":       {req: request(admissionv1.Create, stsKind, minimal, nil), wantAllowed: true, wantPatch: true},
		"create unlabeled":     {req: request(admissionv1.Create, stsKind, unlabeled, nil), wantAllowed: true},
		"delete":               {req: request(admissionv1.Delete, stsKind, nil, minimal), wantAllowed: true},
		"ambiguous containers": {req: request(admissionv1.Create, stsKind, ambiguous, nil), wantCode: http.StatusForbidden, wantMessage: `none is named "mysql"`},
		"other kind": {
			req:      request(admissionv1.Create, metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, minimal, nil),
			wantCode: http.StatusBadRequest, wantMessage: "StatefulSets only",
		},
		"malformed object": {req: request(admissionv1.Create, stsKind, []byte(`{"spec":`), nil), wantCode: http.StatusBadRequest, wantMessage: "decoding"},
		"update of an object being deleted": {
			req: request(admissionv1.Update, stsKind, noDataFinalized, noDataDeleting), wantAllowed: true, wantMessage: "being deleted",
		},
		"update that only adds a finalizer": {
			req: request(admissionv1.Update, stsKind, noDataAnotherFinalizer, noData), wantAllowed: true, wantMessage: "no change",
		},
		"update of the status only": {
			req: request(admissionv1.Update, stsKind, noDataStatus, noData), wantAllowed: true, wantMessage: "no change",
		},
		"update that changes the spec": {
			req: request(admissionv1.Update, stsKind, noDataScaled, noData), wantCode: http.StatusForbidden, wantMessage: "volumeClaimTemplate",
		},
		"update that changes an annotation the mutation reads": {
			req: request(admissionv1.Update, stsKind, noDataAnnotated, noData), wantCode: http.StatusForbidden, wantMessage: "volumeClaimTemplate",
		},
		"update with a malformed stored object": {
			req: request(admissionv1.Update, stsKind, noData, []byte(`{"spec":`)), wantCode: http.StatusBadRequest, wantMessage: "decoding the stored",
		},
		"no object": {req: request(admissionv1.Create, stsKind, nil, nil), wantCode: http.StatusBadRequest, wantMessage: "no object"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := newMutator().Handle(context.Background(), tc.req)
			if resp.Allowed != tc.wantAllowed {
				t.Fatalf("allowed=%v, want %v (%+v)", resp.Allowed, tc.wantAllowed, resp.Result)
			}
			if tc.wantCode != 0 && resp.Result.Code != tc.wantCode {
				t.Errorf("code %d, want %d", resp.Result.Code, tc.wantCode)
			}
			if (len(resp.Patches) > 0) != tc.wantPatch {
				t.Errorf("patches %v, want any: %v", resp.Patches, tc.wantPatch)
			}
			if tc.wantMessage != "" && !strings.Contains(resp.Result.Message, tc.wantMessage) {
				t.Errorf("message %q does not say %q", resp.Result.Message, tc.wantMessage)
			}
		})
	}
}

func TestHandleIsIdempotent(t *testing.T) {
	m := newMutator()
	minimal := minimalJSON(t)
	created := applyPatch(t, minimal, m.Handle(context.Background(), request(admissionv1.Create, stsKind, minimal, nil)))
	var sts appsv1.StatefulSet
	if err := json.Unmarshal(created, &sts); err != nil {
		t.Fatal(err)
	}
	if len(sts.Spec.Template.Spec.InitContainers) != 2 || len(sts.Spec.Template.Spec.Containers) != 2 {
		t.Fatalf("patched object is not injected: %s", created)
	}
	for name, req := range map[string]admission.Request{
		"create again":             request(admissionv1.Create, stsKind, created, nil),
		"update with the same":     request(admissionv1.Update, stsKind, created, created),
		"update with the manifest": request(admissionv1.Update, stsKind, minimal, created),
	} {
		t.Run(name, func(t *testing.T) {
			resp := m.Handle(context.Background(), req)
			if !resp.Allowed {
				t.Fatalf("denied: %+v", resp.Result)
			}
			got := applyPatch(t, req.Object.Raw, resp)
			var again appsv1.StatefulSet
			if err := json.Unmarshal(got, &again); err != nil {
				t.Fatal(err)
			}
			if again.Spec.Template.String() != sts.Spec.Template.String() {
				t.Errorf("pod template differs after %s", name)
			}
			if req.Object.Raw != nil && bytes.Equal(req.Object.Raw, created) && len(resp.Patches) != 0 {
				t.Errorf("patch for an injected object: %v", resp.Patches)
			}
		})
	}
}

func TestServeHTTPAnswersGarbage(t *testing.T) {
	srv := httptest.NewServer(newMutator().Webhook())
	defer srv.Close()
	for name, body := range map[string]string{
		"empty":       "",
		"not json":    "hello",
		"no request":  `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`,
		"wrong types": `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":1}}`,
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var review admissionv1.AdmissionReview
			if err := json.NewDecoder(resp.Body).Decode(&review); err != nil {
				t.Fatalf("answer is not an AdmissionReview: %v", err)
			}
			if review.Response == nil || review.Response.Allowed {
				t.Errorf("garbage allowed: %+v", review.Response)
			}
		})
	}
}

// A field this webhook's API types do not know (a newer cluster's) must come
// through the patch untouched: the patch holds the mutation and nothing else.
func TestPatchKeepsFieldsItDoesNotKnow(t *testing.T) {
	raw := []byte(`{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","labels":{"mysql-replication":"enabled"}},
		"spec":{"futureField":{"a":1},"selector":{"matchLabels":{"app":"db"}},
		"template":{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"mysql","image":"mysql:5.7","futureContainerField":true}]}}}}`)
	resp := newMutator().Handle(context.Background(), request(admissionv1.Create, stsKind, raw, nil))
	if !resp.Allowed || len(resp.Patches) == 0 {
		t.Fatalf("not patched: %+v", resp.Result)
	}
	patched := applyPatch(t, raw, resp)
	var generic map[string]any
	if err := json.Unmarshal(patched, &generic); err != nil {
		t.Fatal(err)
	}
	spec := generic["spec"].(map[string]any)
	if _, ok := spec["futureField"]; !ok {
		t.Error("spec.futureField was removed")
	}
	c := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	if c["futureContainerField"] != true {
		t.Error("the container's unknown field was removed")
	}
	for _, op := range resp.Patches {
		if op.Path == "/metadata/creationTimestamp" || op.Path == "/status" {
			t.Errorf("re-encoding noise in the patch: %v", op)
		}
	}
}

// The API server sends objects encoded as this package encodes them, and the
// patch is then computed without a second diff; an object encoded otherwise
// (keys sorted, no null creationTimestamp) must come out the same.
func TestPatchSameForEveryEncoding(t *testing.T) {
	sorted := minimalJSON(t)
	var sts appsv1.StatefulSet
	if err := json.Unmarshal(sorted, &sts); err != nil {
		t.Fatal(err)
	}
	canonical, err := json.Marshal(&sts)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sorted, canonical) {
		t.Fatal("the two encodings are the same; the test needs them to differ")
	}
	m := newMutator()
	var stored []appsv1.StatefulSet
	for name, raw := range map[string][]byte{"api server's": canonical, "sorted": sorted, "with a newline": append(canonical, '\n')} {
		resp := m.Handle(context.Background(), request(admissionv1.Create, stsKind, raw, nil))
		if !resp.Allowed || len(resp.Patches) == 0 {
			t.Fatalf("%s: not patched: %+v", name, resp.Result)
		}
		for _, op := range resp.Patches {
			if op.Path == "/metadata/creationTimestamp" || op.Path == "/status" {
				t.Errorf("%s: re-encoding noise in the patch: %v", name, op)
			}
		}
		var got appsv1.StatefulSet
		if err := json.Unmarshal(applyPatch(t, raw, resp), &got); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, got)
	}
	for _, got := range stored[1:] {
		if !equality.Semantic.DeepEqual(&stored[0], &got) {
			t.Errorf("encodings give different objects:\n%v\n%v", &stored[0], &got)
		}
	}
}

// Init containers and volumes are injected before the user's: a field this
// webhook does not know stays on the item it came with, not on whatever the
// patch puts at its index.
func TestPatchKeepsUnknownFieldsOnTheirItems(t *testing.T) {
	raw := []byte(`{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","labels":{"mysql-replication":"enabled"}},
		"spec":{"serviceName":"db","selector":{"matchLabels":{"app":"db"}},"template":{"metadata":{"labels":{"app":"db"}},"spec":{
		"initContainers":[{"name":"migrate","image":"busybox","futureField":"migrate's"}],
		"containers":[{"name":"mysql","image":"mysql:5.7","futureField":"mysql's","env":[{"name":"TZ","value":"UTC","futureField":"TZ's"}]}],
		"volumes":[{"name":"extra","emptyDir":{},"futureField":"extra's"}]}}}}`)
	resp := newMutator().Handle(context.Background(), request(admissionv1.Create, stsKind, raw, nil))
	if !resp.Allowed || len(resp.Patches) == 0 {
		t.Fatalf("not patched: %+v", resp.Result)
	}
	var got struct {
		Spec struct {
			Template struct {
				Spec struct {
					InitContainers, Containers, Volumes []map[string]any
				}
			}
		}
	}
	if err := json.Unmarshal(applyPatch(t, raw, resp), &got); err != nil {
		t.Fatal(err)
	}
	pod := got.Spec.Template.Spec
	owners := map[string]string{}
	collect := func(list string, items []map[string]any) {
		for _, item := range items {
			if f, ok := item["futureField"]; ok {
				owners[list+"/"+item["name"].(string)] = f.(string)
			}
			if env, ok := item["env"].([]any); ok {
				for _, e := range env {
					e := e.(map[string]any)
					if f, ok := e["futureField"]; ok {
						owners[list+"/"+item["name"].(string)+"/env/"+e["name"].(string)] = f.(string)
					}
				}
			}
		}
	}
	collect("initContainers", pod.InitContainers)
	collect("containers", pod.Containers)
	collect("volumes", pod.Volumes)
	want := map[string]string{
		"initContainers/migrate":  "migrate's",
		"containers/mysql":        "mysql's",
		"containers/mysql/env/TZ": "TZ's",
		"volumes/extra":           "extra's",
	}
	if diff := cmp.Diff(want, owners); diff != "" {
		t.Errorf("unknown fields not on their items (-want +got):\n%s", diff)
	}
	if len(pod.InitContainers) < 2 || pod.InitContainers[len(pod.InitContainers)-1]["name"] != "migrate" {
		t.Errorf("init containers %v: want the injected ones before migrate", pod.InitContainers)
	}
}
