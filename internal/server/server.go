// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package server wires the webhook and the companion reconciler into one
// controller-runtime manager. cmd/webhook and the envtest suites use it.
package server

import (
	"crypto/tls"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/controller"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/webhooks"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// LeaderElectionID names the Lease the replicas of the manager elect with.
const LeaderElectionID = "mysql-replication-webhook.mysql-replication.io"

// Options configure the manager.
type Options struct {
	// CertDir holds tls.crt and tls.key; they are reloaded when they change.
	CertDir string
	// WebhookHost and WebhookPort are where admission is served (TLS only).
	WebhookHost string
	WebhookPort int
	// MetricsAddr and ProbeAddr serve metrics and /healthz, /readyz ("0" disables).
	MetricsAddr string
	ProbeAddr   string
	// InsecureMetrics serves metrics over plain HTTP to anyone. By default
	// they are served over HTTPS, and only to clients the API server
	// authenticates (TokenReview) and authorizes for GET on the
	// non-resource URL /metrics (SubjectAccessReview).
	InsecureMetrics bool
	// MetricsCertDir holds the metrics server's tls.crt and tls.key; without
	// them a self-signed certificate is made at start.
	MetricsCertDir string
	// LeaderElection keeps one reconciler active among replicas.
	LeaderElection          bool
	LeaderElectionNamespace string
	// Mutation configures what is injected.
	Mutation mutate.Config
	// DisableReconciler serves the webhook alone.
	DisableReconciler bool
	// Limits bound what admission clients can make the webhook hold
	// (DefaultLimits when nil).
	Limits *Limits
}

// NewScheme returns the scheme of the built-in types the manager handles.
func NewScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic(fmt.Sprintf("registering built-in types: %v", err))
	}
	// The controller has cert-manager issue the pods' certificates.
	if err := cmapi.AddToScheme(scheme); err != nil {
		panic(fmt.Sprintf("registering cert-manager's types: %v", err))
	}
	// ... and, where the Prometheus Operator runs, has it scrape the
	// exporters.
	if err := monitoringv1.AddToScheme(scheme); err != nil {
		panic(fmt.Sprintf("registering the Prometheus Operator's types: %v", err))
	}
	return scheme
}

// TLSOptions are applied to the admission and metrics servers: TLS 1.2 at least, and
// HTTP/1.1 only (no HTTP/2 rapid-reset exposure).
func TLSOptions(cfg *tls.Config) {
	cfg.MinVersion = tls.VersionTLS12
	cfg.NextProtos = []string{"http/1.1"}
}

// MetricsOptions configure the metrics server as opts say: HTTPS with
// authentication and authorization through the API server unless
// InsecureMetrics.
func MetricsOptions(opts Options) metricsserver.Options {
	if opts.InsecureMetrics {
		return metricsserver.Options{BindAddress: opts.MetricsAddr}
	}
	return metricsserver.Options{
		BindAddress:    opts.MetricsAddr,
		SecureServing:  true,
		CertDir:        opts.MetricsCertDir,
		TLSOpts:        []func(*tls.Config){TLSOptions},
		FilterProvider: filters.WithAuthenticationAndAuthorization,
	}
}

// New builds the manager: the webhook server with its certificate watcher,
// the companion reconciler, health and readiness checks, and metrics.
func New(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	scheme := NewScheme()
	hookServer := webhook.NewServer(webhook.Options{
		Host:    opts.WebhookHost,
		Port:    opts.WebhookPort,
		CertDir: opts.CertDir,
		TLSOpts: []func(*tls.Config){TLSOptions},
	})
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       MetricsOptions(opts),
		HealthProbeBindAddress:        opts.ProbeAddr,
		LeaderElection:                opts.LeaderElection,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		WebhookServer:                 hookServer,
		// StatefulSets are reconciled independently: one waiting on the
		// API server holds up no other.
		Controller: config.Controller{MaxConcurrentReconciles: 4},
		Cache:      controller.CacheOptions(opts.Mutation.StaleInjection),
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	// GetWebhookServer also adds the server to the manager's runnables.
	limits := opts.Limits
	if limits == nil {
		limits = DefaultLimits()
	}
	mgr.GetWebhookServer().Register(webhooks.StatefulSetPath, limits.Wrap(webhooks.NewStatefulSetMutator(opts.Mutation).Webhook()))
	mgr.GetWebhookServer().Register(webhooks.PodPath, limits.Wrap(webhooks.NewPodRoleLabeler(scheme).Webhook()))

	if !opts.DisableReconciler {
		r := &controller.CompanionReconciler{
			Client:   mgr.GetClient(),
			Reader:   mgr.GetAPIReader(),
			Recorder: mgr.GetEventRecorder(controller.Name),

			ClusterDomain: opts.Mutation.ClusterDomain,
		}
		if err := r.SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("setting up the reconciler: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("adding the health check: %w", err)
	}
	// Ready only once the webhook answers TLS.
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return nil, fmt.Errorf("adding the readiness check: %w", err)
	}
	return mgr, nil
}
