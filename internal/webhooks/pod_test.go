// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package webhooks

import (
	"context"
	"net/http"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

func TestPodRoleLabeler(t *testing.T) {
	podKind := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	const owned = `"ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"db","uid":"u","controller":true}],`
	pod := func(name, owner, labels string) []byte {
		return []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `",` + owner + `"labels":{` + labels + `}},"spec":{"containers":[{"name":"c","image":"i"}]}}`)
	}
	const sts, role = `"mysql-replication.io/statefulset":"db"`, `"mysql-replication.io/role":`
	tests := map[string]struct {
		op        admissionv1.Operation
		kind      metav1.GroupVersionKind
		obj, old  []byte
		wantOp    string // the patch's operation on the role label
		wantValue string
		denied    string
		wantCode  int32
		warns     bool
	}{
		"primary by index label":           {op: admissionv1.Create, obj: pod("db-0", owned, sts+`,"apps.kubernetes.io/pod-index":"0"`), wantOp: "add", wantValue: "primary"},
		"replica by name":                  {op: admissionv1.Create, obj: pod("db-2", owned, sts), wantOp: "add", wantValue: "replica"},
		"role already right":               {op: admissionv1.Create, obj: pod("db-1", owned, sts+`,`+role+`"replica"`)},
		"wrong role corrected":             {op: admissionv1.Create, obj: pod("db-0", owned, sts+`,`+role+`"replica"`), wantOp: "add", wantValue: "primary"},
		"not ours":                         {op: admissionv1.Create, obj: pod("web-0", "", `"app":"web"`)},
		"no ordinal":                       {op: admissionv1.Create, obj: pod("db-x", owned, sts), warns: true},
		"no owner, no role":                {op: admissionv1.Create, obj: pod("db-0", "", sts+`,"apps.kubernetes.io/pod-index":"0"`), warns: true},
		"a forged primary loses its label": {op: admissionv1.Create, obj: pod("db-0", "", sts+`,`+role+`"primary"`), wantOp: "remove", warns: true},
		"a forged index loses its label": {op: admissionv1.Create, obj: pod("db-7", owned, sts+`,"apps.kubernetes.io/pod-index":"0",`+role+`"primary"`),
			wantOp: "remove", warns: true},
		"a role on any pod is removed":  {op: admissionv1.Create, obj: pod("web-0", "", `"app":"web",`+role+`"primary"`), wantOp: "remove", warns: true},
		"update leaving the role":       {op: admissionv1.Update, obj: pod("db-0", owned, sts+`,`+role+`"primary","x":"y"`), old: pod("db-0", owned, sts+`,`+role+`"primary"`)},
		"update keeping the right role": {op: admissionv1.Update, obj: pod("db-1", owned, sts+`,`+role+`"replica"`), old: pod("db-1", owned, sts)},
		"update to the wrong role": {op: admissionv1.Update, obj: pod("db-1", owned, sts+`,`+role+`"primary"`), old: pod("db-1", owned, sts+`,`+role+`"replica"`),
			denied: `pod "db-1" is the replica of its StatefulSet`},
		"update taking the role away": {op: admissionv1.Update, obj: pod("db-0", owned, sts), old: pod("db-0", owned, sts+`,`+role+`"primary"`),
			denied: `must stay "primary"`},
		"update adding a role to any pod": {op: admissionv1.Update, obj: pod("web-0", "", `"app":"web",`+role+`"primary"`), old: pod("web-0", "", `"app":"web"`),
			denied: `may not carry label mysql-replication.io/role=primary`},
		"update moving a labeled pod": {op: admissionv1.Update, obj: pod("db-0", owned, `"mysql-replication.io/statefulset":"other",`+role+`"primary"`),
			old: pod("db-0", owned, sts+`,`+role+`"primary"`), denied: "its controller is not StatefulSet other"},
		"update removing a forged role": {op: admissionv1.Update, obj: pod("web-0", "", `"app":"web"`), old: pod("web-0", "", `"app":"web",`+role+`"primary"`)},
		"other kind":                    {op: admissionv1.Create, kind: stsKind, obj: pod("db-0", "", ""), wantCode: http.StatusBadRequest},
		"garbage":                       {op: admissionv1.Create, obj: []byte(`{"metadata":`), wantCode: http.StatusBadRequest},
	}
	labeler := NewPodRoleLabeler(clientgoscheme.Scheme)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			kind := tc.kind
			if kind.Kind == "" {
				kind = podKind
			}
			resp := labeler.Handle(context.Background(), request(tc.op, kind, tc.obj, tc.old))
			switch {
			case tc.wantCode != 0:
				if resp.Allowed || resp.Result.Code != tc.wantCode {
					t.Fatalf("want code %d, got %+v", tc.wantCode, resp.Result)
				}
				return
			case tc.denied != "":
				if resp.Allowed || !strings.Contains(resp.Result.Message, tc.denied) {
					t.Fatalf("want a denial saying %q, got %+v", tc.denied, resp.Result)
				}
				return
			case !resp.Allowed:
				t.Fatalf("denied: %+v", resp.Result)
			}
			if tc.wantOp == "" {
				if len(resp.Patches) != 0 {
					t.Errorf("patched: %v", resp.Patches)
				}
			} else if len(resp.Patches) != 1 || resp.Patches[0].Operation != tc.wantOp || resp.Patches[0].Path != "/metadata/labels/mysql-replication.io~1role" ||
				(tc.wantValue != "" && resp.Patches[0].Value != tc.wantValue) {
				t.Errorf("patches %v, want %s %s", resp.Patches, tc.wantOp, tc.wantValue)
			}
			if (len(resp.Warnings) > 0) != tc.warns {
				t.Errorf("warnings %q", resp.Warnings)
			}
		})
	}
}
