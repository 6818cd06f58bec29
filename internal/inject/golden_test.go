// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package inject_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/inject"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/patch"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/fixtures"
)

// UPDATE_GOLDEN=true go test ./internal/inject/ (make golden) rewrites
// testdata/*.golden.yaml: what inject.Run writes for each StatefulSet of
// package fixtures.
var updateGolden = os.Getenv("UPDATE_GOLDEN") == "true"

// goldenConfig is the release's own: the helper image is this release's.
var goldenConfig = mutate.DefaultConfig()

// goldenCases maps a case to its input: every fixture, and
// "already-injected", the minimal case's golden StatefulSet fed back in,
// which must come out unchanged.
func goldenCases(t *testing.T) map[string][]byte {
	t.Helper()
	cases := fixtures.StatefulSets()
	minimal, err := os.ReadFile(goldenPath("minimal"))
	if err == nil {
		cases["already-injected"] = firstDocument(minimal)
	}
	return cases
}

func goldenPath(name string) string { return filepath.Join("testdata", name+".golden.yaml") }

func firstDocument(multi []byte) []byte {
	doc, _, _ := bytes.Cut(multi, []byte("\n---\n"))
	return append(doc, '\n')
}

func TestGolden(t *testing.T) {
	for name, input := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := inject.Run(bytes.NewReader(input), &out, goldenConfig); err != nil {
				t.Fatalf("inject: %v", err)
			}
			goldenName := name
			if name == "already-injected" {
				goldenName = "minimal"
			}
			golden := goldenPath(goldenName)
			if updateGolden && name != "already-injected" {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with UPDATE_GOLDEN=true to create it)", err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("output differs from %s (-want +got); UPDATE_GOLDEN=true rewrites it:\n%s", golden, diff)
			}

			t.Run("idempotent", func(t *testing.T) {
				var sts appsv1.StatefulSet
				if err := yaml.UnmarshalStrict(input, &sts); err != nil {
					t.Fatal(err)
				}
				first, err := goldenConfig.Inject(&sts, nil)
				if err != nil {
					t.Fatal(err)
				}
				assertNoChange(t, first, nil)
				assertNoChange(t, first, first.StatefulSet)
			})
		})
	}
}

// A golden file whose fixture is gone would never be checked again.
func TestNoStaleGolden(t *testing.T) {
	goldens, err := filepath.Glob(goldenPath("*"))
	if err != nil {
		t.Fatal(err)
	}
	inputs := fixtures.StatefulSets()
	for _, g := range goldens {
		name := strings.TrimSuffix(filepath.Base(g), ".golden.yaml")
		if _, ok := inputs[name]; !ok {
			t.Errorf("%s has no input %s/%s.yaml: remove it, or restore its input", g, fixtures.Dir, name)
		}
	}
	if len(goldens) != len(inputs) {
		t.Errorf("%d golden files for %d fixtures: UPDATE_GOLDEN=true writes the missing ones", len(goldens), len(inputs))
	}
}

// assertNoChange injects an injected StatefulSet again, on CREATE (old nil)
// or UPDATE, and expects the same object, the same warnings (what the user
// wrote is still kept) and an empty patch.
func assertNoChange(t *testing.T, first *mutate.Result, old *appsv1.StatefulSet) {
	t.Helper()
	injected := first.StatefulSet
	again, err := goldenConfig.Inject(injected, old)
	if err != nil {
		t.Fatalf("second injection: %v", err)
	}
	if !equality.Semantic.DeepEqual(injected, again.StatefulSet) {
		t.Errorf("second injection changed the object:\n%s", cmp.Diff(injected, again.StatefulSet))
	}
	if diff := cmp.Diff(first.Warnings, again.Warnings); diff != "" {
		t.Errorf("second injection warned differently (-first +second):\n%s", diff)
	}
	raw, err := yaml.Marshal(injected)
	if err != nil {
		t.Fatal(err)
	}
	rawJSON, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := patch.Create(rawJSON, injected, again.StatefulSet)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 0 {
		t.Errorf("second injection patched: %v", ops)
	}
}
