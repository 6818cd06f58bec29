// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The binary is built once and run as a user would run it.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "webhook")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func TestInjectCommand(t *testing.T) {
	bin := build(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: [{name: a}, {name: b}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args       []string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		"file":                             {args: []string{"inject", "-f", "../../config/samples/mysql.yaml"}, wantStdout: "kind: StatefulSet"},
		"stdin":                            {args: []string{"inject", "-f", "-"}, stdin: "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n", wantStdout: "kind: Namespace"},
		"no file given":                    {args: []string{"inject"}, wantCode: 1, wantStderr: "-f FILE is required"},
		"missing file":                     {args: []string{"inject", "-f", "/nonexistent.yaml"}, wantCode: 1, wantStderr: "no such file"},
		"bad statefulset":                  {args: []string{"inject", "-f", bad}, wantCode: 1, wantStderr: `none is named "mysql"`},
		"unknown command":                  {args: []string{"frobnicate"}, wantCode: 2, wantStderr: "usage:"},
		"help":                             {args: []string{"--help"}, wantStdout: "webhook recover-primary NAME"},
		"version":                          {args: []string{"version"}, wantStdout: "mysql-replication-webhook v"},
		"status without a name":            {args: []string{"status"}, wantCode: 1, wantStderr: "one StatefulSet NAME is required"},
		"status output":                    {args: []string{"status", "db", "-o", "yaml"}, wantCode: 1, wantStderr: `-o "yaml": table or json`},
		"recover-primary without a name":   {args: []string{"recover-primary", "-n", "x"}, wantCode: 1, wantStderr: "one StatefulSet NAME is required"},
		"recover-primary without ordinals": {args: []string{"recover-primary", "db", "--without", "one"}, wantCode: 1, wantStderr: `--without "one": not a list of ordinals`},
		"too large": {
			args: []string{"inject", "-f", "-"}, stdin: "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n---\n# " + strings.Repeat("x", 16<<20) + "\n",
			wantCode: 1, wantStderr: "webhook inject: the input is larger than 16 MiB",
		},
		"labeled object of another kind": {
			args: []string{"inject", "-f", "-"}, stdin: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {mysql-replication: enabled}}\n",
			wantStdout: "kind: Deployment", wantStderr: `Deployment "web" is labeled mysql-replication=enabled, but only StatefulSets are completed`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Stdin = strings.NewReader(tc.stdin)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if exit, ok := err.(*exec.ExitError); ok {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantStdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr lacks %q: %s", tc.wantStderr, stderr.String())
			}
			if tc.wantCode == 1 && (strings.Count(strings.TrimSpace(stderr.String()), "\n") > 0 || stdout.Len() > 0) {
				t.Errorf("want one line on stderr and nothing on stdout; stderr %q, stdout %q", stderr.String(), stdout.String())
			}
		})
	}
}
