// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package contract

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// Every place that names this project's image names this release: the
// README, the kustomize images and the Makefile (which reads Release).
func TestFilesNameTheRelease(t *testing.T) {
	tag := regexp.MustCompile(`mysql-replication-webhook:(v[0-9][^\s"'` + "`" + `]*)|newTag: (v[0-9]\S*)`)
	for _, f := range []string{"README.md", "config/manager/kustomization.yaml", "config/default/kustomization.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, m := range tag.FindAllSubmatch(b, -1) {
			found++
			if got := string(m[1]) + string(m[2]); got != Release {
				t.Errorf("%s names release %s; this release is %s (contract.Release)", f, got, Release)
			}
		}
		if found == 0 {
			t.Errorf("%s names no release", f)
		}
	}
}
