// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package inject

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

const minimal = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: mysql, image: "mysql:5.7"}]
`

func TestRun(t *testing.T) {
	// A comment longer than the limit: cut at the limit, the input would
	// still read as complete without the StatefulSet after it.
	tooLarge := "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n# " + strings.Repeat("x", MaxInputBytes) + "\n---\n" + minimal
	tests := map[string]struct {
		input     string
		wantKinds []string
		wantNotes []string
		wantErr   string
	}{
		"a StatefulSet and its companions": {
			input:     minimal,
			wantKinds: []string{"StatefulSet", "ConfigMap", "Service", "Service", "Service", "Service"},
		},
		"other objects pass through": {
			input:     "# a comment\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n" + minimal,
			wantKinds: []string{"Namespace", "StatefulSet", "ConfigMap", "Service", "Service", "Service", "Service"},
		},
		"JSON input": {input: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}`, wantKinds: []string{"Namespace"}},
		"labeled object of another kind": {
			input:     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {mysql-replication: enabled}}\n",
			wantKinds: []string{"Deployment"},
			wantNotes: []string{`document 1: Deployment "web" is labeled mysql-replication=enabled, but only StatefulSets are completed: it is written unchanged`},
		},
		"labels that are not strings": {input: "apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {a: 1}}\n", wantKinds: []string{"Namespace"}},
		"kept settings are noted": {
			input:     strings.Replace(minimal, "name: db\n", "name: db\n  annotations: {"+contract.InsecureTutorialAnnotation+": \"true\"}\n", 1),
			wantKinds: []string{"StatefulSet", "ConfigMap", "Service", "Service", "Service", "Service"},
			wantNotes: []string{`document 1: StatefulSet "db": warning: insecure`},
		},
		"too large":         {input: tooLarge, wantErr: "larger than 16 MiB"},
		"empty":             {input: "", wantErr: "no object found"},
		"not YAML":          {input: "a: [b\n", wantErr: "document 1"},
		"not an object":     {input: "- 1\n- 2\n", wantErr: "not a Kubernetes object"},
		"no kind":           {input: "metadata: {name: x}\n", wantErr: "apiVersion and kind are required"},
		"old apiVersion":    {input: strings.Replace(minimal, "apps/v1", "apps/v1beta1", 1), wantErr: "use apps/v1"},
		"unknown field":     {input: strings.Replace(minimal, "spec:\n  selector", "spec:\n  replica: 3\n  selector", 1), wantErr: "unknown field"},
		"cannot complete":   {input: strings.Replace(minimal, "[{name: mysql, image: \"mysql:5.7\"}]", "[{name: a, image: x}, {name: b, image: y}]", 1), wantErr: `none is named "mysql"`},
		"second doc is bad": {input: minimal + "---\nkind: Foo\n", wantErr: "document 2"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out, notes bytes.Buffer
			err := Run(strings.NewReader(tc.input), &out, mutate.DefaultConfig(), Notes(&notes))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				if out.Len() != 0 {
					t.Errorf("output written despite the error")
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, line := range strings.Split(out.String(), "\n") {
				if k, ok := strings.CutPrefix(line, "kind: "); ok {
					kinds = append(kinds, k)
				}
			}
			if strings.Join(kinds, ",") != strings.Join(tc.wantKinds, ",") {
				t.Errorf("kinds %v, want %v", kinds, tc.wantKinds)
			}
			if strings.Contains(out.String(), "creationTimestamp") || strings.Contains(out.String(), "status:") {
				t.Errorf("encoding noise in the output:\n%s", out.String())
			}
			lines := strings.Split(strings.TrimSuffix(notes.String(), "\n"), "\n")
			if notes.Len() == 0 {
				lines = nil
			}
			if len(lines) != len(tc.wantNotes) {
				t.Fatalf("notes %q, want %q", lines, tc.wantNotes)
			}
			for i, want := range tc.wantNotes {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("note %q, want one starting %q", lines[i], want)
				}
			}
		})
	}
}
