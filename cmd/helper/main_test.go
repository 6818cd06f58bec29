// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/testcerts"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/testnet"
)

// The binary is built once and run as a pod runs it.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "helper")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// The helper is copied into every MariaDB pod: it is built from the
// standard library and the backup stream, nothing of Kubernetes.
func TestHelperStaysSmall(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "k8s.io") || strings.Contains(pkg, "controller-runtime") || strings.Contains(pkg, "cert-manager") {
			t.Errorf("the helper depends on %s", pkg)
		}
	}
}

// pki writes a StatefulSet's authority and a pod's certificate (for
// 127.0.0.1) into a new directory.
func pki(t *testing.T, ca *testcerts.CA) string {
	t.Helper()
	dir := t.TempDir()
	cert, err := ca.IssueFor(testcerts.Spec{CommonName: "pod", IPs: []net.IP{net.ParseIP("127.0.0.1")}, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.WriteTo(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBackupCommands(t *testing.T) {
	bin := build(t)
	ca, err := testcerts.NewCA("statefulset")
	if err != nil {
		t.Fatal(err)
	}
	other, err := testcerts.NewCA("another")
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := pki(t, ca), pki(t, other)
	port, err := testnet.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	serve := exec.Command(bin, "serve-backup", "--port", fmt.Sprint(port), "--tls-dir", ours, "--", "sh", "-c", "printf backup")
	var serveErr strings.Builder
	serve.Stderr = &serveErr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve-backup does not listen: %v; stderr: %s", err, serveErr.String())
		}
	}
	t.Cleanup(func() {
		_ = serve.Process.Signal(os.Interrupt)
		_ = serve.Wait()
	})

	tests := map[string]struct {
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		"the same authority": {args: []string{"receive-backup", "--tls-dir", ours, addr}, wantStdout: "backup", wantStderr: "6 bytes"},
		"another authority":  {args: []string{"receive-backup", "--tls-dir", theirs, addr}, wantCode: 1, wantStderr: "authenticating 127.0.0.1"},
		"receive, no certificates": {
			args: []string{"receive-backup", "--tls-dir", t.TempDir(), addr}, wantCode: 1, wantStderr: "reading the certificate authority",
		},
		"serve, no certificates": {
			args: []string{"serve-backup", "--port", "0", "--tls-dir", t.TempDir(), "--", "true"}, wantCode: 1, wantStderr: "reading the certificate authority",
		},
		"serve, no command": {args: []string{"serve-backup", "--port", "0", "--tls-dir", ours}, wantCode: 1, wantStderr: "usage"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			code := 0
			var exit *exec.ExitError
			if err := cmd.Run(); errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.wantCode, stderr.String())
			}
			if stdout.String() != tc.wantStdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr lacks %q: %s", tc.wantStderr, stderr.String())
			}
		})
	}
}
