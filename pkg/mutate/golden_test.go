package mutate_test

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
	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/webhooks"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// UPDATE_GOLDEN=true go test ./pkg/mutate/ rewrites testdata/*.golden.yaml.
var updateGolden = os.Getenv("UPDATE_GOLDEN") == "true"

var goldenConfig = mutate.Config{XtrabackupImage: contract.DefaultXtrabackupImage, HelperImage: "mysql-replication-webhook:v0.1.0"}

// goldenCases maps a case to its input; "already-injected" feeds the
// minimal case's golden StatefulSet back in and must come out unchanged.
func goldenCases(t *testing.T) map[string][]byte {
	t.Helper()
	cases := map[string][]byte{}
	inputs, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden.yaml") {
			continue
		}
		raw, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		cases[strings.TrimSuffix(filepath.Base(in), ".yaml")] = raw
	}
	minimal, err := os.ReadFile("testdata/minimal.golden.yaml")
	if err == nil {
		cases["already-injected"] = firstDocument(minimal)
	}
	return cases
}

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
			golden := filepath.Join("testdata", goldenName+".golden.yaml")
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
	patch, err := webhooks.Patch(rawJSON, injected, again.StatefulSet)
	if err != nil {
		t.Fatal(err)
	}
	if len(patch) != 0 {
		t.Errorf("second injection patched: %v", patch)
	}
}
