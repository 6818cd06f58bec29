package webhooks

import (
	"context"
	"net/http"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

func TestPodRoleLabeler(t *testing.T) {
	podKind := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	pod := func(name, labels string) []byte {
		return []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `","labels":{` + labels + `}},"spec":{"containers":[{"name":"c","image":"i"}]}}`)
	}
	tests := map[string]struct {
		req       admissionv1.Operation
		kind      metav1.GroupVersionKind
		obj       []byte
		wantPatch string
		wantCode  int32
		warns     bool
	}{
		"primary by index label": {req: admissionv1.Create, kind: podKind, obj: pod("db-0", `"mysql-replication.io/statefulset":"db","apps.kubernetes.io/pod-index":"0"`), wantPatch: "primary"},
		"replica by name":        {req: admissionv1.Create, kind: podKind, obj: pod("db-2", `"mysql-replication.io/statefulset":"db"`), wantPatch: "replica"},
		"role already right":     {req: admissionv1.Create, kind: podKind, obj: pod("db-1", `"mysql-replication.io/statefulset":"db","mysql-replication.io/role":"replica"`)},
		"wrong role corrected":   {req: admissionv1.Create, kind: podKind, obj: pod("db-0", `"mysql-replication.io/statefulset":"db","mysql-replication.io/role":"replica"`), wantPatch: "primary"},
		"not ours":               {req: admissionv1.Create, kind: podKind, obj: pod("web-0", `"app":"web"`)},
		"no ordinal":             {req: admissionv1.Create, kind: podKind, obj: pod("db-x", `"mysql-replication.io/statefulset":"db"`), warns: true},
		"update passes":          {req: admissionv1.Update, kind: podKind, obj: pod("db-0", `"mysql-replication.io/statefulset":"db"`)},
		"other kind":             {req: admissionv1.Create, kind: stsKind, obj: pod("db-0", ""), wantCode: http.StatusBadRequest},
		"garbage":                {req: admissionv1.Create, kind: podKind, obj: []byte(`{"metadata":`), wantCode: http.StatusBadRequest},
	}
	labeler := NewPodRoleLabeler(clientgoscheme.Scheme)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := labeler.Handle(context.Background(), request(tc.req, tc.kind, tc.obj, nil))
			if tc.wantCode != 0 {
				if resp.Allowed || resp.Result.Code != tc.wantCode {
					t.Fatalf("want code %d, got %+v", tc.wantCode, resp.Result)
				}
				return
			}
			if !resp.Allowed {
				t.Fatalf("denied: %+v", resp.Result)
			}
			if tc.wantPatch == "" {
				if len(resp.Patches) != 0 {
					t.Errorf("patched: %v", resp.Patches)
				}
			} else if len(resp.Patches) != 1 || resp.Patches[0].Path != "/metadata/labels/mysql-replication.io~1role" || resp.Patches[0].Value != tc.wantPatch {
				t.Errorf("patches %v, want the role %s", resp.Patches, tc.wantPatch)
			}
			if (len(resp.Warnings) > 0) != tc.warns {
				t.Errorf("warnings %q", resp.Warnings)
			}
		})
	}
}
