// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package contract

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every Go file and shell script of the project names its license in the
// kubebuilder projects' SPDX header (hack/boilerplate.go.txt); the scripts
// the webhook injects are rendered into users' pods and carry none.
func TestFilesCarryTheLicenseHeader(t *testing.T) {
	root := filepath.Join("..", "..")
	out, err := exec.Command("git", "-C", root, "ls-files", "*.go", "*.sh", ".ci/run").Output()
	if err != nil {
		t.Skipf("SKIPPED: not a git checkout (%v)", err)
	}
	files := strings.Fields(string(out))
	if len(files) < 50 {
		t.Fatalf("only %d files listed", len(files))
	}
	for _, f := range files {
		// The injected scripts, and those of earlier releases kept in
		// internal/legacy, are rendered into users' pods.
		if strings.HasPrefix(f, "pkg/scripts/") || strings.HasPrefix(f, "internal/legacy/") && strings.HasSuffix(f, ".sh") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		head := string(b[:min(len(b), 300)])
		if !strings.Contains(head, "SPDX-License-Identifier: Apache-2.0") {
			t.Errorf("%s has no SPDX-License-Identifier: Apache-2.0 header (hack/boilerplate.go.txt)", f)
		}
	}
}
