// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package controlplane starts the local kube-apiserver and etcd that the
// envtest, install and reliability suites, the API-server demo and the
// benchmarks run against: one place that checks the installed binaries and
// installs this project's webhook configuration (and any CRDs).
package controlplane

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options say what to install into the control plane.
type Options struct {
	// Root is the repository's root directory, relative or absolute.
	Root string
	// Webhook installs config/webhook, with envtest serving its
	// certificates on a local port (WebhookInstallOptions).
	Webhook bool
	// WebhookPaths replaces config/webhook when set.
	WebhookPaths []string
	// CRDPaths are CRD files or directories to install first.
	CRDPaths []string
	// CertManagerCRDs installs cert-manager's CRDs (CertManagerCRDFiles).
	CertManagerCRDs bool
	// Target names the make target that installs the binaries, for the
	// message when they are missing ("make test").
	Target string
}

// ControlPlane is a running kube-apiserver and etcd.
type ControlPlane struct {
	Env    *envtest.Environment
	Config *rest.Config
}

// ErrNoBinaries: KUBEBUILDER_ASSETS does not name the installed binaries.
var ErrNoBinaries = errors.New("KUBEBUILDER_ASSETS is not set")

// Start starts a control plane.
func Start(opts Options) (*ControlPlane, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		target := opts.Target
		if target == "" {
			target = "make test"
		}
		return nil, fmt.Errorf("%w: run `%s`, which installs kube-apiserver and etcd and sets it", ErrNoBinaries, target)
	}
	env := &envtest.Environment{}
	crds := opts.CRDPaths
	if opts.CertManagerCRDs {
		files, err := CertManagerCRDFiles()
		if err != nil {
			return nil, err
		}
		crds = append(crds, files...)
	}
	if len(crds) > 0 {
		env.CRDInstallOptions = envtest.CRDInstallOptions{Paths: crds, ErrorIfPathMissing: true}
	}
	if opts.Webhook || len(opts.WebhookPaths) > 0 {
		paths := opts.WebhookPaths
		if len(paths) == 0 {
			paths = []string{filepath.Join(opts.Root, "config", "webhook")}
		}
		env.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: paths}
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	return &ControlPlane{Env: env, Config: cfg}, nil
}

// Stop stops it.
func (c *ControlPlane) Stop() error { return c.Env.Stop() }

// CertManagerCRDFiles are the files of cert-manager's
// CustomResourceDefinitions, in its Go module.
func CertManagerCRDFiles() ([]string, error) {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager").Output()
	if err != nil {
		return nil, fmt.Errorf("locating the cert-manager module: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(dir)), "deploy", "crds", "cert-manager.io_*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no cert-manager CRDs in the module (%v)", err)
	}
	return files, nil
}
