// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/testcerts"
)

// pki is the cluster's certificate authority and the files made from it.
type pki struct {
	dir string
	ca  *testcerts.CA
}

func newPKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, err := testcerts.NewCA("mysql-replication-e2e-ca")
	if err != nil {
		return nil, err
	}
	p := &pki{dir: dir, ca: ca}
	if err := os.WriteFile(p.path("ca.crt"), ca.CertPEM, 0o644); err != nil {
		return nil, err
	}
	// The service account token signing key pair.
	sa, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	saDER, _ := x509.MarshalECPrivateKey(sa)
	pubDER, _ := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: saDER}), 0o600); err != nil {
		return nil, err
	}
	return p, os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
}

// issue writes name.crt and name.key: a certificate for spec that also
// authenticates its holder as a client.
func (p *pki) issue(name string, spec testcerts.Spec) error {
	spec.Client = true
	cert, err := p.ca.IssueFor(spec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p.path(name+".crt"), cert.CertPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(p.path(name+".key"), cert.KeyPEM, 0o600)
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

// kubeconfig writes a kubeconfig for the client certificate name.
func (p *pki) kubeconfig(name, server string) (string, error) {
	path := p.path(name + ".kubeconfig")
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: e2e
  context: {cluster: e2e, user: %s}
current-context: e2e
`, server, p.path("ca.crt"), name, p.path(name+".crt"), p.path(name+".key"), name)
	return path, os.WriteFile(path, []byte(content), 0o600)
}
