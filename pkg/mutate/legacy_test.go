// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	r61ddb15 "github.com/mysql-replication-webhook/mysql-replication-webhook/internal/legacy/r61ddb15/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/fixtures"
)

func keptWarnings(warnings []string) map[string]bool {
	out := map[string]bool{}
	for _, w := range warnings {
		if strings.HasPrefix(w, "kept your") {
			out[w] = true
		}
	}
	return out
}

// TestUpgradeFromTheReleaseBeforeRecords completes every sample as release
// 61ddb15 did (no record), and upgrades it: every part that release
// injected is recognised and brought to this release, and the result is
// what this release injects into the sample.
func TestUpgradeFromTheReleaseBeforeRecords(t *testing.T) {
	for name, raw := range fixtures.StatefulSets() {
		t.Run(name, func(t *testing.T) {
			var plainSts appsv1.StatefulSet
			if err := yaml.UnmarshalStrict(raw, &plainSts); err != nil {
				t.Fatal(err)
			}
			then, err := r61ddb15.DefaultConfig().Inject(&plainSts, nil)
			if err != nil {
				t.Skipf("release 61ddb15 did not complete this sample: %v", err)
			}
			old := stored(then.StatefulSet)
			if !DefaultConfig().StaleInjection(old) {
				t.Error("a StatefulSet release 61ddb15 completed is not stale")
			}
			sts := old.DeepCopy()
			sts.Annotations[contract.UpgradeAnnotation] = contract.UpgradeNow
			res, err := DefaultConfig().Inject(sts, old)
			if err != nil {
				t.Fatal(err)
			}
			now, err := DefaultConfig().Inject(&plainSts, nil)
			if err != nil {
				t.Fatal(err)
			}
			for w := range keptWarnings(res.Warnings) {
				if !keptWarnings(now.Warnings)[w] {
					t.Errorf("the upgrade kept a part of release 61ddb15 as the user's: %s", w)
				}
			}
			got, want := stored(res.StatefulSet), stored(now.StatefulSet)
			if !equality.Semantic.DeepEqual(got.Spec.Template, want.Spec.Template) {
				t.Errorf("upgraded pod template differs from this release's (-want +got):\n%s", cmp.Diff(want.Spec.Template, got.Spec.Template))
			}
			if d := DriftedParts(got); len(d) != 0 {
				t.Errorf("drifted parts after the upgrade: %v", d)
			}
		})
	}
}

// TestUpgradeFromTheReleaseBeforeRecordsKeepsEdits: a part of a StatefulSet
// release 61ddb15 completed that the user edited since is theirs.
func TestUpgradeFromTheReleaseBeforeRecordsKeepsEdits(t *testing.T) {
	then, err := r61ddb15.DefaultConfig().Inject(plain("db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	old := stored(then.StatefulSet)
	container(&old.Spec.Template.Spec, contract.SidecarContainer).Command[2] += "\n# the user's line\n"
	sts := old.DeepCopy()
	sts.Annotations[contract.UpgradeAnnotation] = contract.UpgradeNow
	res, err := DefaultConfig().Inject(sts, old)
	if err != nil {
		t.Fatal(err)
	}
	spec := res.StatefulSet.Spec.Template.Spec
	if !strings.HasSuffix(container(&spec, contract.SidecarContainer).Command[2], "# the user's line\n") {
		t.Error("the user's edit of the sidecar is gone")
	}
	if !keptWarnings(res.Warnings)[`kept your container "xtrabackup" as written; it differs from the one the webhook injects`] {
		t.Errorf("no warning about the user's sidecar in %q", res.Warnings)
	}
	want := injected(plain("db"))
	if got := container(&spec, contract.InitMySQLContainer).Command; !equality.Semantic.DeepEqual(got, container(&want.Spec.Template.Spec, contract.InitMySQLContainer).Command) {
		t.Error("init-mysql, which the user did not edit, was not brought to this release")
	}
}

// TestLegacyRendererIsGenerated: internal/legacy/r61ddb15 is what
// hack/legacy-release.sh writes from the release's commit, unedited.
func TestLegacyRendererIsGenerated(t *testing.T) {
	root := filepath.Join("..", "..")
	commit, err := os.ReadFile(filepath.Join(root, "internal", "legacy", "r61ddb15", "COMMIT"))
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("git", "-C", root, "cat-file", "-e", strings.TrimSpace(string(commit))+"^{commit}").Run(); err != nil {
		t.Skipf("SKIPPED: commit %s is not in this checkout (%v)", strings.TrimSpace(string(commit)), err)
	}
	tmp := t.TempDir()
	cmd := exec.Command("bash", "hack/legacy-release.sh", strings.TrimSpace(string(commit)), "r61ddb15", tmp)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/legacy-release.sh: %v\n%s", err, out)
	}
	if out, err := exec.Command("diff", "-r", filepath.Join(root, "internal", "legacy", "r61ddb15"), filepath.Join(tmp, "internal", "legacy", "r61ddb15")).CombinedOutput(); err != nil {
		t.Errorf("internal/legacy/r61ddb15 differs from what hack/legacy-release.sh writes (run it again):\n%s", out)
	}
}
