// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// config/rbac/role.yaml is what controller-gen makes of the
// +kubebuilder:rbac markers: the role and the code cannot drift.
func TestRoleIsGeneratedFromMarkers(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("go", "tool", "controller-gen", "rbac:roleName=manager-role", "paths=./internal/...", "output:rbac:dir="+out)
	cmd.Dir = filepath.Join("..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen: %v\n%s", err, b)
	}
	got, err := os.ReadFile(filepath.Join(out, "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("config/rbac/role.yaml is not what the markers give (-committed +generated); run make manifests:\n%s", diff)
	}
}
