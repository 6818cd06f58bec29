// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package webhooks

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/fixtures"
)

const unknownField = "fieldFromTheFuture"

// markItems gives every item of every list in v, and the objects on the way
// to them, an unknown field whose value names the item: its path, with list
// items named by their name where they have one.
func markItems(v any, path string, marks map[string]bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			markItems(child, path+"/"+k, marks)
		}
	case []any:
		for i, child := range t {
			if m, ok := child.(map[string]any); ok {
				p := itemPath(path, i, m)
				m[unknownField] = p
				marks[p] = true
			}
			markItems(child, itemPath(path, i, child), marks)
		}
	}
}

func itemPath(path string, i int, item any) string {
	if m, ok := item.(map[string]any); ok {
		if name, ok := m["name"].(string); ok {
			return fmt.Sprintf("%s[%s]", path, name)
		}
	}
	return fmt.Sprintf("%s[%d]", path, i)
}

// foundMarks collects the unknown fields of markItems in v, each with the
// path of the item it is on now.
func foundMarks(v any, path string, found map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if k != unknownField {
				foundMarks(child, path+"/"+k, found)
			}
		}
	case []any:
		for i, child := range t {
			p := itemPath(path, i, child)
			if m, ok := child.(map[string]any); ok {
				if mark, ok := m[unknownField].(string); ok {
					found[mark] = p
				}
			}
			foundMarks(child, p, found)
		}
	}
}

// Every fixture, with an unknown field on every list item (containers, env,
// mounts, ports, volumes, selectors): the handler's patch turns it into the
// completed StatefulSet, and every unknown field is still on the item it
// came with.
func TestPatchOfEveryFixture(t *testing.T) {
	m := newMutator()
	for name, y := range fixtures.StatefulSets() {
		t.Run(name, func(t *testing.T) {
			var generic map[string]any
			if err := yaml.Unmarshal(y, &generic); err != nil {
				t.Fatal(err)
			}
			meta := generic["metadata"].(map[string]any)
			labels, _ := meta["labels"].(map[string]any)
			if labels == nil {
				labels = map[string]any{}
				meta["labels"] = labels
			}
			labels[contract.EnabledLabel] = contract.EnabledValue
			plain, err := json.Marshal(generic)
			if err != nil {
				t.Fatal(err)
			}
			marks := map[string]bool{}
			markItems(generic, "", marks)
			raw, err := json.Marshal(generic)
			if err != nil {
				t.Fatal(err)
			}

			var sts appsv1.StatefulSet
			if err := json.Unmarshal(plain, &sts); err != nil {
				t.Fatal(err)
			}
			want, err := m.Config.Inject(&sts, nil)
			if err != nil {
				t.Skipf("not completed: %v", err)
			}

			resp := m.Handle(t.Context(), request(admissionv1.Create, stsKind, raw, nil))
			if !resp.Allowed {
				t.Fatalf("denied: %+v", resp.Result)
			}
			patched := applyPatch(t, raw, resp)
			var got appsv1.StatefulSet
			if err := json.Unmarshal(patched, &got); err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(want.StatefulSet, &got) {
				t.Errorf("the patched object is not the completed one:\n%s", cmp.Diff(want.StatefulSet, &got))
			}

			var after any
			if err := json.Unmarshal(patched, &after); err != nil {
				t.Fatal(err)
			}
			found := map[string]string{}
			foundMarks(after, "", found)
			for mark := range marks {
				if at, ok := found[mark]; !ok {
					t.Errorf("the unknown field of %s is gone", mark)
				} else if at != mark {
					t.Errorf("the unknown field of %s is on %s", mark, at)
				}
			}
			for mark, at := range found {
				if !marks[mark] {
					t.Errorf("unknown field %q on %s was not in the request", mark, at)
				}
			}
		})
	}
}
