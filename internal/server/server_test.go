// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"crypto/tls"
	"testing"
)

func TestMetricsOptions(t *testing.T) {
	tests := map[string]struct {
		opts       Options
		wantSecure bool
	}{
		"default":  {opts: Options{MetricsAddr: ":8443"}, wantSecure: true},
		"cert dir": {opts: Options{MetricsAddr: ":8443", MetricsCertDir: "/certs"}, wantSecure: true},
		"insecure": {opts: Options{MetricsAddr: ":8080", InsecureMetrics: true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := MetricsOptions(tc.opts)
			if got.BindAddress != tc.opts.MetricsAddr {
				t.Errorf("bind address %q, want %q", got.BindAddress, tc.opts.MetricsAddr)
			}
			if got.SecureServing != tc.wantSecure || (got.FilterProvider != nil) != tc.wantSecure {
				t.Errorf("secure serving %v, authentication and authorization filter %v; want both %v",
					got.SecureServing, got.FilterProvider != nil, tc.wantSecure)
			}
			if !tc.wantSecure {
				return
			}
			if got.CertDir != tc.opts.MetricsCertDir {
				t.Errorf("cert dir %q, want %q", got.CertDir, tc.opts.MetricsCertDir)
			}
			cfg := &tls.Config{}
			for _, o := range got.TLSOpts {
				o(cfg)
			}
			if cfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("TLS minimum version %x", cfg.MinVersion)
			}
		})
	}
}
