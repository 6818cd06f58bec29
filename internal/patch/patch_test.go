// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/fixtures"
)

const unknownField = "fieldFromTheFuture"

// markItems gives every object of every list in v an unknown field.
func markItems(v any) {
	switch t := v.(type) {
	case map[string]any:
		for _, child := range t {
			markItems(child)
		}
	case []any:
		for i, child := range t {
			if m, ok := child.(map[string]any); ok {
				m[unknownField] = i
			}
			markItems(child)
		}
	}
}

// Create returns the operations of patchReference, which decodes every
// document in full, for every fixture and completed object, encoded as the
// API server encodes it, as YAML tools write it (keys sorted) and with
// unknown fields on every item, as created and as updated with a changed
// image, a dropped injected container, a dropped annotation, an added
// variable and a changed user value; and Encode writes them as json.Marshal
// does.
func TestCreateMatchesReference(t *testing.T) {
	cfg := mutate.DefaultConfig()
	compared, operations := 0, 0
	check := func(t *testing.T, name string, raw []byte) {
		t.Helper()
		var sts appsv1.StatefulSet
		if err := json.Unmarshal(raw, &sts); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, err := cfg.Inject(&sts, nil)
		if err != nil {
			return
		}
		got, err := Create(raw, &sts, res.StatefulSet)
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
		encoded, err := Encode(got)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if marshaled, _ := json.Marshal(got); len(got) > 0 && !bytes.Equal(encoded, marshaled) {
			t.Errorf("%s: Encode wrote\n%s\njson.Marshal writes\n%s", name, encoded, marshaled)
		}
	}
	for name, y := range fixtures.StatefulSets() {
		t.Run(name, func(t *testing.T) {
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
				markItems(g)
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

// An encoding the scanner cannot read is an error, not a panic.
func TestUnreadableEncodingIsAnError(t *testing.T) {
	for name, e := range map[string]string{
		"empty":             ``,
		"cut object":        `{"a":1`,
		"cut list":          `[1,2`,
		"no colon":          `{"a"1}`,
		"cut string":        `"ab`,
		"bad escape":        `"a\x"`,
		"key without value": `{"a":}`,
	} {
		t.Run(name, func(t *testing.T) {
			s := &scanner{ends: map[*byte]int{}}
			v := s.open(encoded(e))
			if m, ok := v.(map[string]any); ok {
				for _, x := range m {
					s.open(x)
				}
			}
			s.field(encoded(e), "a")
			if !errors.Is(s.err, errUnreadable) {
				t.Errorf("%q read as %#v without an error", e, v)
			}
		})
	}
}

func TestPointerToken(t *testing.T) {
	for key, want := range map[string]string{
		"mysql-replication.io/role": "mysql-replication.io~1role",
		"a~b/c":                     "a~0b~1c",
		"~1":                        "~01",
		"plain":                     "plain",
	} {
		if got := PointerToken(key); got != want {
			t.Errorf("PointerToken(%q) = %q, want %q", key, got, want)
		}
	}
}

// FuzzCreate turns any JSON document into any other: the patch applies to
// the first and gives the second, it holds the operations of the
// reference, and nothing panics.
func FuzzCreate(f *testing.F) {
	for _, y := range fixtures.StatefulSets() {
		j, err := yaml.YAMLToJSON(y)
		if err != nil {
			f.Fatal(err)
		}
		var sts appsv1.StatefulSet
		if err := json.Unmarshal(j, &sts); err != nil {
			f.Fatal(err)
		}
		if res, err := mutate.DefaultConfig().Inject(&sts, nil); err == nil {
			done, _ := json.Marshal(res.StatefulSet)
			f.Add(j, done)
		}
	}
	f.Add([]byte(`{"a":[{"name":"x","v":1},{"name":"y"}],"b":"~/"}`), []byte(`{"a":[{"name":"z"},{"name":"x","v":2},{"name":"y"}],"c":null}`))
	f.Add([]byte(`[1,2,3]`), []byte(`{"a":"\u00e9\"\\"}`))
	f.Fuzz(func(t *testing.T, raw, target []byte) {
		var decoded, mutated any
		if json.Unmarshal(raw, &decoded) != nil || json.Unmarshal(target, &mutated) != nil {
			return
		}
		ops, err := Create(raw, decoded, mutated)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		want, err := patchReference(raw, decoded, mutated)
		if err != nil {
			t.Fatalf("reference: %v", err)
		}
		if diff := cmp.Diff(generic(t, want), generic(t, ops)); diff != "" {
			t.Fatalf("the patch differs from the reference (-want +got):\n%s", diff)
		}
		if len(ops) == 0 {
			return
		}
		encoded, err := Encode(ops)
		if err != nil {
			t.Fatal(err)
		}
		p, err := jsonpatchapply.DecodePatch(encoded)
		if err != nil {
			t.Fatalf("the patch does not decode: %v\n%s", err, encoded)
		}
		patched, err := p.Apply(raw)
		if err != nil {
			t.Fatalf("the patch does not apply: %v\n%s", err, encoded)
		}
		if got := generic(t, json.RawMessage(patched)); !cmp.Equal(got, generic(t, mutated)) {
			t.Fatalf("the patch gives\n%s\nnot\n%s", patched, target)
		}
	})
}

func indent(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func generic(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
