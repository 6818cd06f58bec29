// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package reliability proves the webhook fails safe under load, outage,
// certificate rotation and hostile input, through a real kube-apiserver.
// Every assertion counts objects and errors; none measures time.
package reliability

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/server"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/controlplane"
)

var (
	env  *envtest.Environment
	cfg  *rest.Config
	k8s  client.Client
	logs = &syncBuffer{}
)

// syncBuffer collects the manager's logs at the default verbosity.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	logf.SetLogger(zap.New(zap.WriteTo(logs), zap.Level(zapcore.InfoLevel)))
	plane, err := controlplane.Start(controlplane.Options{Root: filepath.Join("..", ".."), Webhook: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env, cfg = plane.Env, plane.Config
	cfg.QPS, cfg.Burst = 2000, 4000
	if k8s, err = client.New(cfg, client.Options{Scheme: server.NewScheme()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if current != nil {
		current.stop()
	}
	_ = env.Stop()
	os.Exit(code)
}

// hook is a running webhook server (the real manager, reconciler off).
type hook struct {
	cancel context.CancelFunc
	done   chan error
}

var current *hook

func addr() string {
	wio := env.WebhookInstallOptions
	return net.JoinHostPort(wio.LocalServingHost, strconv.Itoa(wio.LocalServingPort))
}

func startHook(t *testing.T) {
	t.Helper()
	wio := env.WebhookInstallOptions
	mgr, err := server.New(cfg, server.Options{
		WebhookHost: wio.LocalServingHost, WebhookPort: wio.LocalServingPort, CertDir: wio.LocalServingCertDir,
		MetricsAddr: "0", ProbeAddr: "0", DisableReconciler: true, Mutation: mutate.DefaultConfig(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &hook{cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- mgr.Start(ctx) }()
	waitFor(t, "the webhook to serve TLS", func() bool {
		conn, err := tls.Dial("tcp", addr(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // local test server
		if err != nil {
			return false
		}
		conn.Close()
		return true
	})
	current = h
}

func (h *hook) stop() {
	h.cancel()
	<-h.done
	current = nil
}

func stopHook(t *testing.T) {
	t.Helper()
	current.stop()
	waitFor(t, "the webhook port to close", func() bool {
		conn, err := net.DialTimeout("tcp", addr(), time.Second)
		if err != nil {
			return true
		}
		conn.Close()
		return false
	})
}

// waitFor polls cond, giving up after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func namespace(t *testing.T, name string) string {
	t.Helper()
	if err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	return name
}

// statefulSet is the minimal sample, labeled for the webhook or not.
func statefulSet(ns, name string, labeled bool) *appsv1.StatefulSet {
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: "mysql",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "mysql"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "mysql"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "mysql", Image: "mysql:5.7"}}},
			},
		},
	}
	if labeled {
		sts.Labels = map[string]string{contract.EnabledLabel: contract.EnabledValue}
	}
	return sts
}

func injected(sts *appsv1.StatefulSet) bool {
	return sts.Annotations[contract.InjectorVersionAnnotation] == contract.InjectorVersion &&
		len(sts.Spec.Template.Spec.InitContainers) == 2 && len(sts.Spec.Template.Spec.Containers) == 2
}

func untouched(sts *appsv1.StatefulSet) bool {
	return sts.Annotations[contract.InjectorVersionAnnotation] == "" &&
		len(sts.Spec.Template.Spec.InitContainers) == 0 && len(sts.Spec.Template.Spec.Containers) == 1
}
