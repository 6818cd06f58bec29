// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package envtest proves the webhook and the reconciler through a real
// kube-apiserver and etcd: config/webhook is installed as it ships, the real
// manager serves admission over TLS and metrics over HTTPS behind the API
// server's authentication, and every object goes through a client.
package envtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/server"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/controlplane"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/testnet"
)

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	ctx       context.Context
	cancel    context.CancelFunc
	// mgr is the manager under test; metricsAddr is where it serves metrics.
	mgr         ctrl.Manager
	metricsAddr string
)

// testConfig is the mutation configuration the manager runs with.
var testConfig = mutate.Config{XtrabackupImage: contract.DefaultXtrabackupImage, HelperImage: "mysql-replication-webhook:test"}

func TestEnvtest(t *testing.T) {
	RegisterFailHandler(Fail)
	// The reconciler works through every StatefulSet of every spec: under
	// -race on a busy machine a companion can take seconds to appear.
	SetDefaultEventuallyTimeout(30 * time.Second)
	RunSpecs(t, "webhook and reconciler through a real API server")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())

	plane, err := controlplane.Start(controlplane.Options{Root: filepath.Join("..", ".."), Webhook: true, CertManagerCRDs: true})
	Expect(err).NotTo(HaveOccurred())
	testEnv, cfg = plane.Env, plane.Config

	// The API server is the release make test asked for: the newest, or
	// the oldest the webhook supports (make test-envtest-oldest).
	version, err := discovery.NewDiscoveryClientForConfigOrDie(cfg).ServerVersion()
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("kube-apiserver %s\n", version.GitVersion)
	AddReportEntry("kube-apiserver", version.GitVersion)
	if want := os.Getenv("ENVTEST_K8S_VERSION"); want != "" {
		Expect(version.GitVersion).To(Equal("v"+want), "KUBEBUILDER_ASSETS names another release than ENVTEST_K8S_VERSION")
	}

	scheme := server.NewScheme()
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	wio := &testEnv.WebhookInstallOptions
	metricsPort, err := testnet.FreePort()
	Expect(err).NotTo(HaveOccurred())
	metricsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(metricsPort))
	mgr, err = server.New(cfg, server.Options{
		WebhookHost: wio.LocalServingHost,
		WebhookPort: wio.LocalServingPort,
		CertDir:     wio.LocalServingCertDir,
		MetricsAddr: metricsAddr,
		ProbeAddr:   "0",
		Mutation:    testConfig,
	})
	Expect(err).NotTo(HaveOccurred())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()

	addr := net.JoinHostPort(wio.LocalServingHost, strconv.Itoa(wio.LocalServingPort))
	Eventually(func() error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // local test server
		if err != nil {
			return err
		}
		return conn.Close()
	}).WithTimeout(30 * time.Second).Should(Succeed())
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// newNamespace creates a namespace of its own for one spec.
func newNamespace() string {
	GinkgoHelper()
	name := fmt.Sprintf("t-%d", time.Now().UnixNano())
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	return name
}
