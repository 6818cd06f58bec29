package webhooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
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

// Every input of the golden files, with an unknown field on every list item
// (containers, env, mounts, ports, volumes, selectors): the patch turns it
// into the completed StatefulSet, and every unknown field is still on the
// item it came with.
func TestPatchOfEveryGoldenInput(t *testing.T) {
	inputs, err := filepath.Glob("../../pkg/mutate/testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := newMutator()
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden.yaml") {
			continue
		}
		t.Run(strings.TrimSuffix(filepath.Base(in), ".yaml"), func(t *testing.T) {
			y, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
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

// Patch returns the operations of patchReference, which decodes every
// document in full, for every golden input and completed object, encoded
// as the API server encodes it, as YAML tools write it (keys sorted) and
// with unknown fields on every item, as created and as updated with a
// changed image, a dropped injected container, a dropped annotation, an
// added variable and a changed user value.
func TestPatchMatchesReference(t *testing.T) {
	inputs, err := filepath.Glob("../../pkg/mutate/testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := mutate.DefaultConfig()
	compared, operations := 0, 0
	check := func(t *testing.T, name string, raw []byte) {
		t.Helper()
		var sts appsv1.StatefulSet
		if err := decode(raw, &sts); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, err := cfg.Inject(&sts, nil)
		if err != nil {
			return
		}
		got, err := Patch(raw, &sts, res.StatefulSet)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := patchReference(raw, &sts, res.StatefulSet)
		if err != nil {
			t.Fatalf("%s: reference: %v", name, err)
		}
		compared++
		operations += len(want)
		if diff := cmp.Diff(generic(t, want), generic(t, got)); diff != "" {
			t.Errorf("%s: the patch differs from the reference (-want +got):\n%s", name, diff)
		}
		encoded, err := encodePatch(got)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if marshaled, _ := json.Marshal(got); len(got) > 0 && !bytes.Equal(encoded, marshaled) {
			t.Errorf("%s: encodePatch wrote\n%s\njson.Marshal writes\n%s", name, encoded, marshaled)
		}
	}
	for _, in := range inputs {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".yaml"), func(t *testing.T) {
			y, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var sts appsv1.StatefulSet
			if err := yaml.Unmarshal(y, &sts); err != nil {
				t.Fatal(err)
			}
			if sts.Labels == nil {
				sts.Labels = map[string]string{}
			}
			sts.Labels[contract.EnabledLabel] = contract.EnabledValue
			variants := map[string]*appsv1.StatefulSet{"input": &sts}
			if res, err := cfg.Inject(&sts, nil); err == nil {
				done := res.StatefulSet
				variants["completed"] = done
				c := done.DeepCopy()
				c.Spec.Template.Spec.Containers[0].Image += "-new"
				variants["new image"] = c
				c = done.DeepCopy()
				c.Spec.Template.Spec.InitContainers = c.Spec.Template.Spec.InitContainers[1:]
				variants["init container dropped"] = c
				c = done.DeepCopy()
				delete(c.Annotations, contract.InjectorVersionAnnotation)
				variants["annotation dropped"] = c
				c = done.DeepCopy()
				c.Spec.Template.Spec.Containers[0].Env = append(c.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "X", Value: "<&>"})
				variants["variable added"] = c
				c = done.DeepCopy()
				c.Spec.Template.Spec.Containers = slices.Clone(c.Spec.Template.Spec.Containers)
				slices.Reverse(c.Spec.Template.Spec.Containers)
				variants["containers reversed"] = c
			}
			for name, v := range variants {
				canonical, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				check(t, name+", encoded as the API server does", canonical)
				check(t, name+", indented", indent(t, canonical))
				var g map[string]any
				if err := json.Unmarshal(canonical, &g); err != nil {
					t.Fatal(err)
				}
				sorted, err := json.Marshal(g)
				if err != nil {
					t.Fatal(err)
				}
				check(t, name+", keys sorted", sorted)
				markItems(g, "", map[string]bool{})
				marked, err := json.Marshal(g)
				if err != nil {
					t.Fatal(err)
				}
				check(t, name+", unknown fields", marked)
			}
		})
	}
	if compared < 100 || operations == 0 {
		t.Errorf("only %d patches with %d operations compared", compared, operations)
	}
	t.Logf("%d patches with %d operations compared", compared, operations)
}

func indent(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func generic(t *testing.T, ops any) any {
	b, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
