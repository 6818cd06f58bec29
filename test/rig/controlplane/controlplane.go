// Package controlplane starts the local kube-apiserver and etcd that the
// envtest, install and reliability suites, the API-server demo and the
// benchmarks run against: one place that checks the installed binaries and
// installs this project's webhook configuration (and any CRDs).
package controlplane

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

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
	if len(opts.CRDPaths) > 0 {
		env.CRDInstallOptions = envtest.CRDInstallOptions{Paths: opts.CRDPaths, ErrorIfPathMissing: true}
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
