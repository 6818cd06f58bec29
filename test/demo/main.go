// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Command demo shows the project on a machine with no cluster: it starts a
// local control plane (kube-apiserver and etcd, as envtest runs them), runs
// the webhook binary for real over TLS with config/webhook installed, applies
// config/samples and prints what the API server stored and what the
// reconciler created. With KEEP=1 it keeps running and prints a kubeconfig.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/inject"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/server"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/controlplane"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/testnet"
)

func main() {
	binary := flag.String("webhook", "bin/webhook", "webhook binary to run")
	samples := flag.String("samples", "config/samples", "directory of StatefulSets to apply")
	webhookConfig := flag.String("webhook-config", "config/webhook", "directory of the MutatingWebhookConfiguration")
	keep := flag.Bool("keep", os.Getenv("KEEP") == "1", "keep the control plane running until Ctrl-C")
	flag.Parse()
	if err := run(*binary, *samples, *webhookConfig, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

func run(binary, samplesDir, webhookConfig string, keep bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	step("starting a local control plane (kube-apiserver and etcd)")
	plane, err := controlplane.Start(controlplane.Options{WebhookPaths: []string{webhookConfig}, Target: "make demo-apiserver"})
	if err != nil {
		return err
	}
	defer func() { _ = plane.Stop() }()
	env, cfg := plane.Env, plane.Config
	fmt.Println("    API server:", cfg.Host)

	user, err := env.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return err
	}
	kubeconfigPath := filepath.Join(os.TempDir(), "mysql-replication-demo.kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return err
	}

	wio := env.WebhookInstallOptions
	probePort, err := testnet.FreePort()
	if err != nil {
		return err
	}
	step("running %s over TLS on %s:%d", binary, wio.LocalServingHost, wio.LocalServingPort)
	cmd := exec.CommandContext(ctx, binary,
		"--cert-dir", wio.LocalServingCertDir,
		"--webhook-port", strconv.Itoa(wio.LocalServingPort),
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probePort),
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfigPath)
	logPath := filepath.Join(os.TempDir(), "mysql-replication-demo-webhook.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the webhook: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	if err := waitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort)); err != nil {
		return fmt.Errorf("%w (webhook log: %s)", err, logPath)
	}
	fmt.Println("    /readyz answers 200: the webhook serves TLS; log:", logPath)

	c, err := client.New(cfg, client.Options{Scheme: server.NewScheme()})
	if err != nil {
		return err
	}
	applied, err := applySamples(ctx, c, samplesDir)
	if err != nil {
		return err
	}
	for _, sts := range applied {
		if err := show(ctx, c, sts); err != nil {
			return err
		}
	}

	if keep {
		step("the control plane keeps running; in another terminal:")
		fmt.Printf("    export KUBECONFIG=%s\n    kubectl get statefulsets,configmaps,services\n", kubeconfigPath)
		fmt.Println("    Ctrl-C stops everything.")
		<-ctx.Done()
	}
	step("done")
	return nil
}

func waitReady(ctx context.Context, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url) //nolint:gosec // local probe address
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return errors.New("the webhook did not become ready within 60s")
}

// applySamples creates every StatefulSet in dir in the default namespace.
func applySamples(ctx context.Context, c client.Client, dir string) ([]*appsv1.StatefulSet, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []*appsv1.StatefulSet
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var sts appsv1.StatefulSet
		if err := yaml.UnmarshalStrict(raw, &sts); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if sts.Namespace == "" {
			sts.Namespace = "default"
		}
		step("creating %s: a plain StatefulSet of %d lines, %d container(s)", f, strings.Count(string(raw), "\n"), len(sts.Spec.Template.Spec.Containers))
		if err := c.Create(ctx, &sts); err != nil {
			return nil, fmt.Errorf("creating %s: %w", f, err)
		}
		out = append(out, &sts)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no samples in %s", dir)
	}
	return out, nil
}

// show prints the stored StatefulSet and the companions once they exist.
func show(ctx context.Context, c client.Client, sts *appsv1.StatefulSet) error {
	stored := &appsv1.StatefulSet{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(sts), stored); err != nil {
		return err
	}
	step("StatefulSet %s/%s as the API server stored it", stored.Namespace, stored.Name)
	if err := printObject(stored); err != nil {
		return err
	}
	companions, err := mutate.BuildCompanions(stored)
	if err != nil {
		return err
	}
	for _, want := range companions.Objects() {
		got := want.DeepCopyObject().(client.Object)
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := c.Get(ctx, client.ObjectKeyFromObject(want), got)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s %s did not appear: %w", kind(want), want.GetName(), err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		step("%s %s/%s created by the reconciler", kind(want), got.GetNamespace(), got.GetName())
		if err := printObject(got); err != nil {
			return err
		}
	}
	if !mutate.GeneratesCredentials(stored.Annotations) {
		return nil
	}
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: stored.Namespace, Name: mutate.CredentialsSecretName(stored.Name, stored.Annotations)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.Get(ctx, key, secret)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Secret %s did not appear: %w", key.Name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	keys := make([]string, 0, len(secret.Data))
	for k, v := range secret.Data {
		keys = append(keys, fmt.Sprintf("%s (%d characters)", k, len(v)))
	}
	slices.Sort(keys)
	step("Secret %s/%s created by the reconciler, once: %s", secret.Namespace, secret.Name, strings.Join(keys, ", "))
	return nil
}

func kind(obj client.Object) string {
	if _, ok := obj.(*corev1.ConfigMap); ok {
		return "ConfigMap"
	}
	return "Service"
}

func printObject(obj client.Object) error {
	gvk, err := apiutil.GVKForObject(obj, server.NewScheme())
	if err != nil {
		return err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	obj.SetManagedFields(nil)
	out, err := inject.Marshal(obj)
	if err != nil {
		return err
	}
	fmt.Print(string(out))
	return nil
}
