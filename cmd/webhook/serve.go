// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/server"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

func serve(args []string) error {
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	opts := server.Options{}
	fs.StringVar(&opts.CertDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory holding tls.crt and tls.key; reloaded when they change")
	fs.IntVar(&opts.WebhookPort, "webhook-port", 9443, "port of the admission webhook (TLS)")
	fs.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8443", "address of the metrics endpoint; 0 disables it")
	secureMetrics := fs.Bool("metrics-secure", true, "serve metrics over HTTPS to clients the API server authenticates and authorizes for GET /metrics; false serves plain HTTP to anyone")
	fs.StringVar(&opts.MetricsCertDir, "metrics-cert-dir", "", "directory holding the metrics server's tls.crt and tls.key; a self-signed certificate when empty")
	fs.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	fs.BoolVar(&opts.LeaderElection, "leader-elect", false, "elect one active reconciler among replicas")
	mutationFlags(fs, &opts.Mutation)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	opts.InsecureMetrics = !*secureMetrics

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	mgr, err := server.New(cfg, opts)
	if err != nil {
		return err
	}
	ctrl.Log.Info("starting", "webhookPort", opts.WebhookPort, "helperImage", opts.Mutation.HelperImage)
	return mgr.Start(ctrl.SetupSignalHandler())
}

// mutationFlags binds the flags that configure what is injected.
func mutationFlags(fs *flag.FlagSet, cfg *mutate.Config) {
	helper := os.Getenv("HELPER_IMAGE")
	if helper == "" {
		helper = contract.DefaultHelperImage
	}
	fs.StringVar(&cfg.HelperImage, "helper-image", helper, "image of this binary, injected into MariaDB pods to stream backups (env HELPER_IMAGE)")
	fs.StringVar(&cfg.XtrabackupImage, "xtrabackup-image", contract.DefaultXtrabackupImage, "image running clone-mysql and the sidecar of MySQL pods")
	fs.StringVar(&cfg.ExporterImage, "exporter-image", contract.DefaultExporterImage,
		"Prometheus mysqld_exporter image, added to the pods of StatefulSets annotated "+contract.MetricsAnnotation+"=true")
	fs.StringVar(&cfg.ClusterDomain, "cluster-domain", contract.DefaultClusterDomain, "the cluster's DNS domain: pods reach each other as <pod>.<service>.<namespace>.svc.<domain>.")
}
