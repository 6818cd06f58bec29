// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Command demo shows the project on a real cluster on this
// machine: cert-manager and the kustomize install, the samples of
// config/samples becoming replicated databases in pods, a row written on the
// primary and read back from each replica. make demo runs it (and falls back
// to the API-server-only demo, test/demo, where no cluster can run here).
// With KEEP=1 the cluster stays up until Ctrl-C, with a kubeconfig for kubectl.
//
// Exit status 3 means the cluster could not start on this machine.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/cluster"
)

const (
	configDir = "config"
	ns        = "default"
)

var errNoCluster = errors.New("no cluster")

func main() {
	ctrllog.SetLogger(logr.Discard())
	err := run()
	switch {
	case errors.Is(err, errNoCluster):
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(3)
	case err != nil:
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }
func say(format string, args ...any)  { fmt.Printf("    "+format+"\n", args...) }

func env(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%w: %s is not set (make demo sets it)", errNoCluster, name)
	}
	return v, nil
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var settings [6]string
	for i, name := range []string{"CLUSTER_BIN", "WEBHOOK_BIN", "CERTMANAGER_BIN", "MYSQL_ROOT", "MARIADB_ROOT", "HELPER_BIN"} {
		v, err := env(name)
		if err != nil {
			return err
		}
		settings[i] = v
	}
	webhookImg, err := cluster.WebhookImageOf(settings[1], settings[5])
	if err != nil {
		return err
	}

	mysqlImg, err := cluster.MySQLImageOf(settings[3])
	if err != nil {
		return err
	}
	mariadbImg, err := cluster.MariaDBImageOf(settings[4])
	if err != nil {
		return err
	}

	nodes, err := cluster.NodesFromEnv()
	if err != nil {
		return err
	}
	step(fmt.Sprintf("a %d-node Kubernetes cluster on this machine: etcd, kube-apiserver, controller-manager, scheduler, CoreDNS; containerd, kubelet and kube-proxy on each node", nodes))
	say("addresses in 10.250.0.0/16, each node in a network namespace of its own; firewall rules keep them off the outside interface")
	start := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{Bin: settings[0], Nodes: nodes,
		Images: []cluster.Image{webhookImg, mysqlImg, mariadbImg}})
	if err != nil {
		return fmt.Errorf("%w: %v", errNoCluster, err)
	}
	defer c.Stop()
	say("%d nodes Ready in %s, images %s, %s and %s imported", nodes, since(start), cluster.WebhookImage, cluster.MySQLImage, cluster.MariaDBImage)

	step("cert-manager's own controllers, then the install as a user runs it: config/default through kustomize, image %s", cluster.WebhookImage)
	start = time.Now()
	if err := c.RunCertManager(ctx, settings[2]); err != nil {
		return err
	}
	installed, err := c.InstallProject(ctx, configDir, cluster.WebhookImage)
	if err != nil {
		return err
	}
	say("%d objects applied to namespace %s", len(installed.Objects), cluster.InstallNamespace)
	if err := c.WaitReady(ctx, installed, func(s string) { say("%s", s) }); err != nil {
		return err
	}
	say("install ready in %s", since(start))

	for _, d := range cluster.Samples {
		if err := apply(ctx, c, d); err != nil {
			return err
		}
	}

	step("pods becoming Ready, in order (each replica clones its predecessor, then replicates from the primary)")
	var wg sync.WaitGroup
	errs := make(chan error, len(cluster.Samples))
	start = time.Now()
	var mu sync.Mutex
	for _, d := range cluster.Samples {
		wg.Go(func() {
			err := c.StatefulSetReady(ctx, ns, d.Name, 15*time.Minute, func(pod string) {
				mu.Lock()
				defer mu.Unlock()
				role := ""
				if p, err := c.Client.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{}); err == nil {
					role = p.Labels[contract.RoleLabel]
				}
				say("%-10s Ready after %-5s (%s)", pod, since(start), role)
			})
			if err != nil {
				errs <- fmt.Errorf("%s: %w\n%s", d.Name, err, c.DescribePods(ctx, ns, "app="+d.Name))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}

	for _, d := range cluster.Samples {
		if err := replicate(ctx, c, d); err != nil {
			return err
		}
	}

	step("the Services to use")
	for _, d := range cluster.Samples {
		say("%-17s writes (the primary)        %-18s reads (ready replicas only)", d.Name+"-primary", d.Name+"-replicas")
	}
	say("credentials: Secrets %s, generated once by the controller", strings.Join(names(cluster.Samples, "-credentials"), ", "))

	if os.Getenv("KEEP") == "1" {
		step("the cluster keeps running; in another terminal:")
		say("export KUBECONFIG=%s", c.Kubeconfig)
		say("%s get statefulsets,pods,services", filepath.Join(settings[0], "kubectl"))
		say("Ctrl-C stops it and tears everything down.")
		<-ctx.Done()
	}
	step("done; tearing the cluster down")
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(time.Second).String() }

func names(ds []cluster.DB, suffix string) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name+suffix)
	}
	return out
}

// apply creates a sample and shows what the user wrote next to what the
// cluster stored and what the controller created.
func apply(ctx context.Context, c *cluster.Cluster, d cluster.DB) error {
	raw, err := os.ReadFile(filepath.Join(configDir, "samples", d.Name+".yaml"))
	if err != nil {
		return err
	}
	u, err := cluster.Sample(configDir, d.Name, ns)
	if err != nil {
		return err
	}
	step("config/samples/%s.yaml: the StatefulSet you write, %d lines, one container", d.Name, strings.Count(string(raw), "\n"))
	say("(applied with the database container's requests at 50m CPU and 256Mi, so that ten pods fit this machine's two cores)")
	if err := c.Apply(ctx, []*unstructured.Unstructured{u}); err != nil {
		return err
	}
	stored, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, d.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	stored.ManagedFields = nil
	out, _ := yaml.Marshal(stored)
	spec := stored.Spec.Template.Spec
	say("the cluster stored %d lines:", strings.Count(string(out), "\n"))
	say("  init containers %s", strings.Join(containerNames(spec.InitContainers), ", "))
	say("  containers      %s", strings.Join(containerNames(spec.Containers), ", "))
	var claims []string
	for _, v := range stored.Spec.VolumeClaimTemplates {
		claims = append(claims, v.Name)
	}
	say("  volume claims   %s", strings.Join(claims, ", "))
	if err := cluster.Poll(ctx, time.Minute, "the companions", func() (bool, error) {
		_, err := c.Client.CoreV1().Services(ns).Get(ctx, d.Name+"-replicas", metav1.GetOptions{})
		return err == nil, err
	}); err != nil {
		return err
	}
	svcs, err := c.Client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var mine []string
	for _, s := range svcs.Items {
		if owned(s.OwnerReferences, stored.UID) {
			mine = append(mine, s.Name)
		}
	}
	say("the controller created ConfigMap %s, Services %s, Secret %s-credentials", d.Name, strings.Join(mine, ", "), d.Name)
	return nil
}

func owned(refs []metav1.OwnerReference, uid any) bool {
	for _, r := range refs {
		if r.UID == uid {
			return true
		}
	}
	return false
}

func containerNames(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// replicate writes a row through <name>-primary and reads it on every replica.
func replicate(ctx context.Context, c *cluster.Cluster, d cluster.DB) error {
	step("%s: a row written through %s-primary, read back on each replica", d.Name, d.Name)
	sts, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, d.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	row := fmt.Sprintf("hello from %s-primary at %s", d.Name, time.Now().Format("15:04:05"))
	if _, err := c.SQL(ctx, ns, d, d.Name+"-1", d.Name+"-primary",
		"CREATE DATABASE IF NOT EXISTS demo; CREATE TABLE IF NOT EXISTS demo.t (id INT PRIMARY KEY, v VARCHAR(64)); REPLACE INTO demo.t VALUES (1, '"+row+"');"); err != nil {
		return err
	}
	say("INSERT on %s-primary: %q", d.Name, row)
	for i := 1; i < int(*sts.Spec.Replicas); i++ {
		pod := fmt.Sprintf("%s-%d", d.Name, i)
		if err := c.Eventually(ctx, ns, d, pod, "127.0.0.1", "SELECT v FROM demo.t WHERE id = 1", row); err != nil {
			return err
		}
		id, err := c.SQL(ctx, ns, d, pod, "127.0.0.1", "SELECT @@server_id")
		if err != nil {
			return err
		}
		say("SELECT on %s (server_id %s): %q", pod, id, row)
	}
	got, err := c.SQL(ctx, ns, d, d.Name+"-0", d.Name+"-replicas", "SELECT CONCAT(@@server_id, ': ', v) FROM demo.t WHERE id = 1")
	if err != nil {
		return err
	}
	say("SELECT through %s-replicas answers from server_id %s", d.Name, got)
	return nil
}
