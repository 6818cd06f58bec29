// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/status"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/helmchart"
)

const (
	configDir = "../../config"
	ns        = "default"
	installNS = InstallNamespace
)

// env is a setting of make e2e: the binaries and root filesystems it installed.
func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run `make e2e`, which installs what the cluster needs and sets it", name)
	}
	return v
}

type timings struct {
	mu   sync.Mutex
	rows [][2]string
	// failures are printed after the table, at the end of the output,
	// where a CI log's tail shows them.
	failures []string
}

// fatalf ends t with a failure that print repeats at the end.
func (tm *timings) fatalf(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatal(tm.record(t, format, args...))
}

// errorf fails t with a failure that print repeats at the end.
func (tm *timings) errorf(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Error(tm.record(t, format, args...))
}

// record keeps a failure of t for print and returns its message.
func (tm *timings) record(t *testing.T, format string, args ...any) string {
	msg := fmt.Sprintf(format, args...)
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.failures = append(tm.failures, t.Name()+": "+msg)
	return msg
}

func (tm *timings) add(step string, d time.Duration) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.rows = append(tm.rows, [2]string{step, d.Round(100 * time.Millisecond).String()})
}

func (tm *timings) print() {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\nstep\ttook")
	for _, r := range tm.rows {
		fmt.Fprintf(w, "%s\t%s\n", r[0], r[1])
	}
	w.Flush()
	for _, f := range tm.failures {
		fmt.Printf("\nFAILED %s\n", f)
	}
}

// TestCluster is the end-to-end test on a real cluster (NODES nodes): the
// kustomize install with cert-manager's own controllers, the samples
// replicating in real pods, pods killed and coming back.
func TestCluster(t *testing.T) {
	if os.Getenv("E2E_CLUSTER") == "" {
		t.Skip("the cluster end-to-end test runs with `make e2e` (E2E_CLUSTER=1, root)")
	}
	ctrllog.SetLogger(logr.Discard())
	// client-go's own complaints of exec streams that a pod's end cut
	// (websocket closed) would bury the test's log.
	klog.SetLogger(logr.Discard())
	var tm timings
	defer tm.print()
	// Interrupted, the test ends its waits and tears the cluster down.
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sigCtx, 80*time.Minute)
	defer cancel()

	// 1. The images: the webhook from this project, the database servers.
	start := time.Now()
	webhookImg, err := WebhookImageOf(env(t, "WEBHOOK_BIN"), env(t, "HELPER_BIN"))
	if err != nil {
		t.Fatal(err)
	}
	mysqlImg, err := MySQLImageOf(env(t, "MYSQL_ROOT"))
	if err != nil {
		t.Fatal(err)
	}
	mariadbImg, err := MariaDBImageOf(env(t, "MARIADB_ROOT"))
	if err != nil {
		t.Fatal(err)
	}
	mariadb11Img, err := MariaDB11ImageOf(env(t, "MARIADB11_ROOT"))
	if err != nil {
		t.Fatal(err)
	}
	exporterImg, err := ExporterImageOf(env(t, "EXPORTER_ROOT"))
	if err != nil {
		t.Fatal(err)
	}
	previousImg, err := PreviousReleaseImageOf(filepath.Join(env(t, "PREVIOUS_RELEASE_DIR"), "webhook"))
	if err != nil {
		t.Fatal(err)
	}
	images := []Image{webhookImg, previousImg, mysqlImg, mariadbImg, mariadb11Img, exporterImg}
	nodes, err := NodesFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(ctx, Options{Bin: env(t, "CLUSTER_BIN"), Nodes: nodes, Images: images, Log: os.Stdout})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if os.Getenv("KEEP") != "" {
			fmt.Printf("KEEP is set: the cluster stays up; KUBECONFIG=%s; stop it with `make e2e-down`\n", c.Kubeconfig)
			return
		}
		c.Stop()
	}()
	for _, s := range c.Timings {
		tm.add("  "+s.Step, s.Took)
	}
	tm.add(fmt.Sprintf("cluster up (%d nodes Ready, images imported)", nodes), time.Since(start))

	// 2. cert-manager; the Helm chart installed, answering, uninstalled;
	// then the kustomize install, exactly as a user runs them.
	start = time.Now()
	if err := c.RunCertManager(ctx, env(t, "CERTMANAGER_BIN")); err != nil {
		t.Fatal(err)
	}
	charted, err := c.InstallChart(ctx, filepath.Join("..", "..", helmchart.Dir), WebhookImage)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx, charted, func(s string) { fmt.Println("  helm: " + s) }); err != nil {
		t.Fatal(err)
	}
	if err := c.UninstallChart(ctx); err != nil {
		t.Fatal(err)
	}
	tm.add("helm install of dist/chart ready (as below), then helm uninstall", time.Since(start))

	// The release before this one, installed as its users did, completes a
	// StatefulSet that this release upgrades in step 7.
	var legacy *legacyRun
	t.Run("release 61ddb15 installed from its commit completes a StatefulSet", func(t *testing.T) {
		legacy = completeWithRelease61ddb15(ctx, t, c, env(t, "PREVIOUS_RELEASE_DIR"), &tm)
	})
	start = time.Now()
	installed, err := c.InstallProject(ctx, configDir, WebhookImage)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx, installed, func(s string) { fmt.Println("  " + s) }); err != nil {
		t.Fatal(err)
	}
	tm.add("install ready (certificate issued, CA injected, 2 managers Ready)", time.Since(start))
	legacy.checkInstall(ctx, t, c)

	// 3. The samples: MariaDB, and MySQL 9.7 (config/samples/mysql.yaml with
	// the image mysql:9.7). The database container asks for 50m CPU so that
	// ten pods fit the 2 cores of this machine; all else is as written.
	dbs := Samples
	samples := map[string]*unstructured.Unstructured{}
	for _, d := range dbs {
		u, err := Sample(configDir, d.Name, ns)
		if err != nil {
			t.Fatal(err)
		}
		// Every pod with the metrics exporter.
		withMetrics(u)
		samples[d.Name] = u
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(dbs))
	for _, d := range dbs {
		if err := c.Apply(ctx, []*unstructured.Unstructured{samples[d.Name]}); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			start := time.Now()
			err := c.StatefulSetReady(ctx, ns, d.Name, 15*time.Minute, func(pod string) {
				fmt.Printf("  %s Ready after %s\n", pod, time.Since(start).Round(time.Second))
			})
			if err != nil {
				errs <- fmt.Errorf("%s: %w\n%s", d.Name, err, c.DescribePods(ctx, ns, "app="+d.Name))
				return
			}
			tm.add(fmt.Sprintf("StatefulSet %s: 3 pods Ready", d.Name), time.Since(start))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Run("metrics: each pod's exporter, the managers' admission counters", func(t *testing.T) {
		start := time.Now()
		for _, d := range dbs {
			scrapeExporters(ctx, t, c, d, 3)
		}
		scrapeManagers(ctx, t, c, samples["mysql"])
		tm.add("metrics scraped: 6 exporters, 2 managers", time.Since(start))
	})
	for _, d := range dbs {
		spreadOverNodes(ctx, t, c, d, 3)
	}

	// A server that starts slowly, created now and checked after step 4.
	slow := slowServer(ctx, t, c)

	// 4. Replication in real pods, through the Services.
	for _, d := range dbs {
		t.Run(d.Name, func(t *testing.T) {
			replication(ctx, t, c, d, &tm)
		})
	}

	t.Run("a server that answers only after the old liveness window is not killed", func(t *testing.T) {
		slow(t, &tm)
	})

	// 5. MariaDB upgraded in place, 10.11 to 11.8, under a stream of writes.
	t.Run("mariadb upgraded to 11.8 under writes", func(t *testing.T) {
		start := time.Now()
		upgradeUnderWrites(ctx, t, &tm, c, Samples[0], MariaDB11Image, "11.8.")
		tm.add("StatefulSet mariadb: 10.11 -> 11.8 rolled under writes", time.Since(start))
	})

	// 6. A node drained with kubectl while both samples take writes.
	t.Run("kubectl drain of a node under writes", func(t *testing.T) {
		if nodes < 2 {
			t.Skip("one node: its drain leaves the pods nowhere to go (NODES=3 is make e2e's default)")
		}
		drainUnderWrites(ctx, t, c, &tm, dbs)
	})

	t.Run("pods resolve through the cluster's CoreDNS only", func(t *testing.T) {
		out, _, err := c.Exec(ctx, ns, "mysql-0", "mysql", "", "cat", "/etc/resolv.conf")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && f[0] == "nameserver" && f[1] != controlPlaneIP {
				t.Errorf("a nameserver other than the cluster's: %q", line)
			}
			if len(f) > 1 && f[0] == "search" && !strings.HasSuffix(f[len(f)-1], "cluster.local") {
				t.Errorf("a search domain outside the cluster: %q", line)
			}
		}
		t.Logf("resolv.conf: %q", out)
	})

	t.Run("an unlabeled StatefulSet is stored as written", func(t *testing.T) {
		sts := plain("unlabeled", MySQLImage)
		delete(sts.Labels, contract.EnabledLabel)
		got, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Client.AppsV1().StatefulSets(ns).Delete(ctx, sts.Name, metav1.DeleteOptions{})
		if len(got.Spec.Template.Spec.InitContainers) != 0 || len(got.Spec.Template.Spec.Containers) != 1 ||
			got.Annotations[contract.InjectorVersionAnnotation] != "" || len(got.Spec.VolumeClaimTemplates) != 0 {
			t.Errorf("the unlabeled StatefulSet was changed: %d init containers, %d containers, annotations %v",
				len(got.Spec.Template.Spec.InitContainers), len(got.Spec.Template.Spec.Containers), got.Annotations)
		}
	})

	// 7. A StatefulSet the previous release completed, upgraded on its
	// owner's step only.
	t.Run("a StatefulSet release 61ddb15 completed is upgraded on its owner's step", func(t *testing.T) {
		upgradeFromRelease61ddb15(ctx, t, c, &tm, legacy)
	})

	// 8. A single server its owner wrote, adopted in place by labeling it.
	// Its data in the directory mysql of its claim, or at the claim's root.
	for _, server := range []struct{ image, client, subPath, layout string }{
		{MySQLImage, "mysql", "", "its data at its volume's root"},
		{MariaDBImage, "mariadb", "", "its data at its volume's root"},
		{MySQLImage, "mysql", contract.DataSubPath, "its data in its volume's directory mysql"},
	} {
		t.Run("a single "+server.client+" server, "+server.layout+", is adopted in place", func(t *testing.T) {
			adoptSingleInstance(ctx, t, c, &tm, server.image, server.client, server.subPath)
		})
	}

	// 9. A manager killed while StatefulSets are created: each is stored
	// completed or refused, never uninjected.
	t.Run("a manager killed during creates stores nothing uninjected", func(t *testing.T) {
		start := time.Now()
		killDuringCreates(ctx, t, c)
		tm.add("manager killed during creates, both back Ready", time.Since(start))
	})
}

func plain(name, image string) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{contract.EnabledLabel: contract.EnabledValue}},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](0),
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "mysql", Image: image,
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}}}}},
			},
		},
	}
}

func replication(ctx context.Context, t *testing.T, c *Cluster, d DB, tm *timings) {
	pod := func(i int) string { return fmt.Sprintf("%s-%d", d.Name, i) }
	const query = "SELECT v FROM e2e.t ORDER BY id"

	// Writes go through <name>-primary, here from a replica's pod.
	if _, err := c.SQL(ctx, ns, d, pod(1), d.Name+"-primary",
		"CREATE DATABASE e2e; CREATE TABLE e2e.t (id INT PRIMARY KEY, v VARCHAR(32)); INSERT INTO e2e.t VALUES (1, 'written-on-primary');"); err != nil {
		t.Fatal(err)
	}
	want := "written-on-primary"
	for i := range 3 {
		if err := c.Eventually(ctx, ns, d, pod(i), "127.0.0.1", query, want); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("the row is on %s-0, -1 and -2", d.Name)

	// The replicas got there over TLS: their replication user requires
	// it, and cert-manager issued the pods' certificates from the
	// StatefulSet's own authority.
	if out, err := c.SQL(ctx, ns, d, pod(0), "127.0.0.1", "SELECT ssl_type FROM mysql.user WHERE user = '"+contract.ReplicationUser+"'"); err != nil || out != "ANY" {
		t.Fatalf("the replication user requires no TLS (ssl_type %q, %v)", out, err)
	}
	secret, err := c.Client.CoreV1().Secrets(ns).Get(ctx, d.Name+contract.TLSSecretTail, metav1.GetOptions{})
	if err != nil || len(secret.Data["ca.crt"]) == 0 || len(secret.OwnerReferences) != 0 {
		t.Fatalf("Secret %s%s: %v (owners %v)", d.Name, contract.TLSSecretTail, err, secret.GetOwnerReferences())
	}
	t.Logf("replication runs over TLS with certificates cert-manager issued into %s (no owner)", secret.Name)

	// Reads through <name>-replicas reach replicas only.
	primaryID, err := c.SQL(ctx, ns, d, pod(0), "127.0.0.1", "SELECT @@server_id")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 12 {
		out, err := c.SQL(ctx, ns, d, pod(0), d.Name+"-replicas", "SELECT @@server_id; "+query)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(out, "\n")
		if lines[0] == primaryID {
			t.Fatalf("%s-replicas answered from the primary (server_id %s)", d.Name, primaryID)
		}
		if len(lines) < 2 || lines[1] != want {
			t.Fatalf("%s-replicas: %q", d.Name, out)
		}
		seen[lines[0]] = true
	}
	t.Logf("%s-replicas answered from server ids %v, never the primary's %s", d.Name, keys(seen), primaryID)

	// The buffer pool follows the database container's memory request
	// (256Mi here), through the downward API.
	if log, err := c.ContainerLog(ctx, ns, pod(0), contract.InitMySQLContainer); err != nil || !strings.Contains(log, "innodb_buffer_pool_size 128M, from the database container's 256Mi") {
		t.Errorf("init-mysql did not size the buffer pool from the memory request (%v):\n%s", err, log)
	}
	if got, err := c.SQL(ctx, ns, d, pod(0), "127.0.0.1", "SELECT @@innodb_buffer_pool_size"); err != nil || got != "134217728" {
		t.Errorf("innodb_buffer_pool_size %q (%v), want 128M", got, err)
	}

	// Roles and owners.
	roles(ctx, t, c, d.Name, 3)
	owners(ctx, t, c, d.Name)
	statusAtAGlance(ctx, t, c, d)

	// Scale to 5: the new pods clone and replicate.
	start := time.Now()
	if _, err := c.Client.AppsV1().StatefulSets(ns).Patch(ctx, d.Name, types.MergePatchType, []byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.StatefulSetReady(ctx, ns, d.Name, 15*time.Minute, nil); err != nil {
		tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, "app="+d.Name))
	}
	tm.add(fmt.Sprintf("StatefulSet %s: scaled 3 -> 5 Ready", d.Name), time.Since(start))
	for _, i := range []int{3, 4} {
		if err := c.Eventually(ctx, ns, d, pod(i), "127.0.0.1", query, want); err != nil {
			t.Fatal(err)
		}
	}
	roles(ctx, t, c, d.Name, 5)
	t.Logf("scaled to 5: the row is on %s-3 and -4", d.Name)
	if log, err := c.ContainerLog(ctx, ns, pod(3), contract.CloneMySQLContainer); err != nil || !strings.Contains(log, "the donor is pod 2, the previous ordinal") {
		t.Errorf("%s did not clone pod 2 (%v):\n%s", pod(3), err, log)
	}

	// A drain's evictions: one database pod at a time.
	start = time.Now()
	old4, err := c.Client.CoreV1().Pods(ns).Get(ctx, pod(4), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evictTwo(ctx, t, c, d.Name, 4, 3)
	waitRecreated(ctx, t, tm, c, d.Name, pod(4), old4.UID)
	tm.add(fmt.Sprintf("StatefulSet %s: two evictions, one refused, the evicted pod back Ready", d.Name), time.Since(start))

	// A replica pod deleted comes back on its volume without cloning again.
	start = time.Now()
	old, err := c.Client.CoreV1().Pods(ns).Get(ctx, pod(2), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Client.CoreV1().Pods(ns).Delete(ctx, pod(2), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRecreated(ctx, t, tm, c, d.Name, pod(2), old.UID)
	tm.add(fmt.Sprintf("StatefulSet %s: replica pod deleted, back Ready", d.Name), time.Since(start))
	log, err := c.ContainerLog(ctx, ns, pod(2), contract.CloneMySQLContainer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log, d.CloneSkipped) {
		t.Fatalf("%s came back and cloned again? clone-mysql said:\n%s", pod(2), log)
	}
	if err := c.Eventually(ctx, ns, d, pod(2), "127.0.0.1", query, want); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s deleted: back on its volume without cloning (clone-mysql: %q), the row is there", pod(2), lastLine(log))

	// The primary pod deleted comes back with its data, and replication
	// goes on; reads through <name>-replicas are answered meanwhile (the
	// replicas stay ready while they reconnect).
	start = time.Now()
	old, err = c.Client.CoreV1().Pods(ns).Get(ctx, pod(0), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reads := readLoop(ctx, c, d, pod(1))
	if err := c.Client.CoreV1().Pods(ns).Delete(ctx, pod(0), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRecreated(ctx, t, tm, c, d.Name, pod(0), old.UID)
	tm.add(fmt.Sprintf("StatefulSet %s: primary pod deleted, back Ready", d.Name), time.Since(start))
	answered, failed, refused := reads()
	t.Logf("reads through %s-replicas while %s restarted: %d answered, %d failed, refused for at most %s",
		d.Name, pod(0), answered, failed, refused.Round(100*time.Millisecond))
	if refused > 10*time.Second {
		t.Errorf("reads through %s-replicas were refused for %s while the primary restarted (%d answered, %d failed)",
			d.Name, refused.Round(100*time.Millisecond), answered, failed)
	}
	if err := c.Eventually(ctx, ns, d, pod(0), "127.0.0.1", query, want); err != nil {
		t.Fatal(err)
	}
	writeThroughPrimary(ctx, t, c, d, pod(1), "INSERT IGNORE INTO e2e.t VALUES (2, 'after-primary-restart')")
	want += "\nafter-primary-restart"
	for i := range 5 {
		if err := c.Eventually(ctx, ns, d, pod(i), "127.0.0.1", query, want); err != nil {
			t.Fatal(err)
		}
	}
	roles(ctx, t, c, d.Name, 5)
	t.Logf("%s deleted: back with its data; a row written after it is on all five pods; roles primary, replica×4", pod(0))

	// Faults in turn under a steady write load: nothing acknowledged is
	// lost. It ends with six pods.
	chaos(ctx, t, c, tm, d, 5)

	start = time.Now()
	recoverLostPrimary(ctx, t, c, d, want, 6)
	tm.add(fmt.Sprintf("StatefulSet %s: primary's volume lost, refused, recovered from a replica", d.Name), time.Since(start))
}

// statusAtAGlance runs `kubectl mysql-replication status` (the webhook
// binary as kubectl's plugin) and `webhook status -o json`: one line per
// pod, the primary's and both replicas' threads running; then with pod
// 2's SQL thread stopped, which the status says.
func statusAtAGlance(ctx context.Context, t *testing.T, c *Cluster, d DB) {
	plugins := t.TempDir()
	if err := os.Symlink(env(t, "WEBHOOK_BIN"), filepath.Join(plugins, "kubectl-mysql_replication")); err != nil {
		t.Fatal(err)
	}
	get := func() []status.Pod {
		t.Helper()
		out, err := exec.CommandContext(ctx, env(t, "WEBHOOK_BIN"), "status", d.Name, "-n", ns, "--kubeconfig", c.Kubeconfig, "-o", "json").Output()
		var pods []status.Pod
		if err == nil {
			err = json.Unmarshal(out, &pods)
		}
		if err != nil || len(pods) != 3 {
			t.Fatalf("webhook status %s -o json: %v\n%s", d.Name, err, out)
		}
		return pods
	}
	table := func() string {
		t.Helper()
		cmd := exec.CommandContext(ctx, filepath.Join(env(t, "CLUSTER_BIN"), "kubectl"), "mysql-replication", "status", d.Name, "-n", ns)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "PATH="+plugins+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl mysql-replication status %s: %v\n%s", d.Name, err, out)
		}
		return string(out)
	}
	if err := Poll(ctx, time.Minute, "every pod of "+d.Name+" ready, replicating, in step", func() (bool, error) {
		pods := get()
		for i, p := range pods {
			want := contract.RoleReplica
			if i == 0 {
				want = contract.RolePrimary
			}
			if p.Name != fmt.Sprintf("%s-%d", d.Name, i) || p.Role != want || !p.Ready || p.Version == "" || p.Transactions == "" || p.Unreachable != "" {
				return false, nil
			}
			if i > 0 && (p.IOThread != "Yes" || p.SQLThread != "Yes" || p.LagSeconds == nil || p.Transactions != pods[0].Transactions) {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		t.Fatalf("%v: %+v", err, get())
	}
	t.Logf("kubectl mysql-replication status %s:\n%s", d.Name, table())

	stopSQL := "STOP REPLICA SQL_THREAD"
	if d.Name == "mariadb" {
		stopSQL = "STOP SLAVE SQL_THREAD"
	}
	if _, err := c.SQL(ctx, ns, d, d.Name+"-2", "127.0.0.1", stopSQL); err != nil {
		t.Fatal(err)
	}
	if p := get()[2]; p.SQLThread != "No" || p.IOThread != "Yes" {
		t.Errorf("with its SQL thread stopped, %s's status says %+v", p.Name, p)
	}
	t.Logf("with %s-2's SQL thread stopped:\n%s", d.Name, table())
	if _, err := c.SQL(ctx, ns, d, d.Name+"-2", "127.0.0.1", strings.Replace(stopSQL, "STOP", "START", 1)); err != nil {
		t.Fatal(err)
	}
}

// writeThroughPrimary runs statement (idempotent) through <name>-primary
// from pod `from` until the primary (server_id 100) acknowledges it. The
// Service's endpoints reach kube-proxy a moment after the pod is Ready, so
// the first tries may find no route; and an exec can end without having
// run the client, so only the server's answer counts.
func writeThroughPrimary(ctx context.Context, t *testing.T, c *Cluster, d DB, from, statement string) {
	t.Helper()
	var out string
	var writeErr error
	if err := Poll(ctx, time.Minute, "a write through "+d.Name+"-primary", func() (bool, error) {
		out, writeErr = c.SQL(ctx, ns, d, from, d.Name+"-primary", statement+"; SELECT @@server_id;")
		return writeErr == nil && out == "100", nil
	}); err != nil {
		t.Fatalf("%v: %q, %v", err, out, writeErr)
	}
}

// readLoop reads through <name>-replicas from pod `from` until the returned
// function is called, which says how many reads were answered and failed,
// and the longest time reads were refused: from a failed read's start to
// the end of the next answered one (a slow answer is not a refusal).
func readLoop(ctx context.Context, c *Cluster, d DB, from string) func() (answered, failed int, refused time.Duration) {
	var (
		answered, failed int
		refused          time.Duration
		failingSince     time.Time
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				if !failingSince.IsZero() {
					refused = max(refused, time.Since(failingSince))
				}
				return
			case <-time.After(300 * time.Millisecond):
			}
			began := time.Now()
			callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			out, err := c.SQL(callCtx, ns, d, from, d.Name+"-replicas", "SELECT COUNT(*) FROM e2e.t")
			cancel()
			if err != nil || out == "" {
				failed++
				if failingSince.IsZero() {
					failingSince = began
				}
				continue
			}
			answered++
			if !failingSince.IsZero() {
				refused = max(refused, time.Since(failingSince))
				failingSince = time.Time{}
			}
		}
	}()
	return func() (int, int, time.Duration) {
		close(stop)
		<-done
		return answered, failed, refused
	}
}

// recoverLostPrimary loses pod 0's volume (its claim deleted with the pod:
// a new, empty claim binds), sees pod 0 refuse to start empty, and runs
// `webhook recover-primary`: pod 0 clones a replica that holds every row,
// is the primary again, and every replica replicates from it.
func recoverLostPrimary(ctx context.Context, t *testing.T, c *Cluster, d DB, want string, n int) {
	pod0 := d.Name + "-0"
	const query = "SELECT v FROM e2e.t ORDER BY id"
	claim := contract.DataVolume + "-" + pod0
	old, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Client.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, claim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Client.CoreV1().Pods(ns).Delete(ctx, pod0, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var refusal string
	if err := Poll(ctx, 10*time.Minute, pod0+" to refuse to start on an empty claim", func() (bool, error) {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, pod0, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		for _, st := range p.Status.InitContainerStatuses {
			for _, term := range []*corev1.ContainerStateTerminated{st.State.Terminated, st.LastTerminationState.Terminated} {
				if st.Name == contract.CloneMySQLContainer && term != nil && strings.Contains(term.Message, contract.EmptyPrimaryMessage) {
					refusal = lastLine(term.Message)
					return true, nil
				}
			}
		}
		return false, err
	}); err != nil {
		t.Fatalf("%v\n%s", err, c.DescribePods(ctx, ns, "app="+d.Name))
	}
	if now, err := c.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{}); err != nil || now.UID == old.UID {
		t.Fatalf("claim %s was not replaced (%v)", claim, err)
	}
	t.Logf("%s on a new, empty claim: %s", pod0, refusal)

	cmd := exec.CommandContext(ctx, env(t, "WEBHOOK_BIN"), "recover-primary", d.Name, "-n", ns, "--kubeconfig", c.Kubeconfig, "--timeout", "15m")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("webhook recover-primary %s: %v\n%s\n%s", d.Name, err, out, c.DescribePods(ctx, ns, "app="+d.Name))
	}
	t.Logf("webhook recover-primary %s:\n%s", d.Name, out)
	log, err := c.ContainerLog(ctx, ns, pod0, contract.CloneMySQLContainer)
	if err != nil || !strings.Contains(log, "the donor is pod 1, which holds every transaction of pods 1 2 3 4 5") ||
		!strings.Contains(log, "the clone of pod 1 is the primary's") {
		t.Fatalf("%s was not recovered from pod 1 (%v):\n%s", pod0, err, log)
	}
	marker, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, d.Name+contract.InitializedTail, metav1.GetOptions{})
	if err != nil || marker.Data[contract.RecoverFromKey] != "" {
		t.Errorf("the recovery request is left in ConfigMap %s%s (%v): %v", d.Name, contract.InitializedTail, err, marker.Data)
	}
	if err := c.Eventually(ctx, ns, d, pod0, "127.0.0.1", query, want); err != nil {
		t.Fatal(err)
	}
	writeThroughPrimary(ctx, t, c, d, d.Name+"-1", "INSERT IGNORE INTO e2e.t VALUES (3, 'after-recovery')")
	want += "\nafter-recovery"
	for i := range n {
		if err := c.Eventually(ctx, ns, d, fmt.Sprintf("%s-%d", d.Name, i), "127.0.0.1", query, want); err != nil {
			t.Fatal(err)
		}
	}
	roles(ctx, t, c, d.Name, n)
	t.Logf("%s recovered from pod 1: every row is on it, and a row written after is on all %d pods", pod0, n)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func waitRecreated(ctx context.Context, t *testing.T, tm *timings, c *Cluster, sts, name string, oldUID types.UID) {
	t.Helper()
	if err := Poll(ctx, 10*time.Minute, name+" to come back Ready", func() (bool, error) {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return p.UID != oldUID && PodReady(p), nil
	}); err != nil {
		tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, "app="+sts))
	}
	if err := c.StatefulSetReady(ctx, ns, sts, 10*time.Minute, nil); err != nil {
		tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, "app="+sts))
	}
}

func roles(ctx context.Context, t *testing.T, c *Cluster, sts string, n int) {
	t.Helper()
	for i := range n {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, fmt.Sprintf("%s-%d", sts, i), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := contract.RoleReplica
		if i == 0 {
			want = contract.RolePrimary
		}
		if got := p.Labels[contract.RoleLabel]; got != want {
			t.Errorf("%s: role label %q, want %q", p.Name, got, want)
		}
	}
}

func owners(ctx context.Context, t *testing.T, c *Cluster, name string) {
	t.Helper()
	sts, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned := func(kind, obj string, refs []metav1.OwnerReference) {
		for _, r := range refs {
			if r.UID == sts.UID && r.Kind == "StatefulSet" && r.Controller != nil && *r.Controller {
				return
			}
		}
		t.Errorf("%s %s is not owned by StatefulSet %s: %v", kind, obj, name, refs)
	}
	cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned("ConfigMap", cm.Name, cm.OwnerReferences)
	for _, svc := range []string{sts.Spec.ServiceName, name + "-read", name + "-primary", name + "-replicas"} {
		s, err := c.Client.CoreV1().Services(ns).Get(ctx, svc, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		owned("Service", svc, s.OwnerReferences)
	}
	if _, err := c.Client.CoreV1().Secrets(ns).Get(ctx, name+"-credentials", metav1.GetOptions{}); err != nil {
		t.Errorf("the credentials Secret: %v", err)
	}
	budget, err := c.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owned("PodDisruptionBudget", budget.Name, budget.OwnerReferences)
}

// evictTwo evicts two replicas of StatefulSet name at once, as a drain
// would: the PodDisruptionBudget lets the first go and refuses the second
// while the first is not back.
func evictTwo(ctx context.Context, t *testing.T, c *Cluster, name string, first, second int) {
	t.Helper()
	if err := Poll(ctx, 2*time.Minute, "the budget to allow one disruption", func() (bool, error) {
		b, err := c.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && b.Status.DisruptionsAllowed == 1, err
	}); err != nil {
		t.Fatal(err)
	}
	evict := func(i int) error {
		return c.Client.CoreV1().Pods(ns).EvictV1(ctx, &policyv1.Eviction{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, i), Namespace: ns}})
	}
	if err := evict(first); err != nil {
		t.Fatalf("evicting %s-%d: %v", name, first, err)
	}
	err := evict(second)
	if !apierrors.IsTooManyRequests(err) {
		t.Fatalf("evicting %s-%d while %s-%d is down: %v, want the budget's refusal (429)", name, second, name, first, err)
	}
	t.Logf("the budget let %s-%d be evicted and refused %s-%d meanwhile: %v", name, first, name, second, err)
}

// killDuringCreates creates labeled StatefulSets one after another while a
// manager's process is killed (SIGKILL, as the kernel's OOM killer would),
// then checks that every stored one is injected.
func killDuringCreates(ctx context.Context, t *testing.T, c *Cluster) {
	pods, err := c.Client.CoreV1().Pods(installNS).List(ctx, metav1.ListOptions{LabelSelector: "control-plane=controller-manager"})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("manager pods: %v (%d)", err, len(pods.Items))
	}
	victim := pods.Items[0]
	if len(victim.Status.ContainerStatuses) == 0 {
		t.Fatalf("%s has no container status", victim.Name)
	}
	pid, err := c.ContainerPID(ctx, victim.Status.ContainerStatuses[0].ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	var created, refused []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 40; i++ {
			name := fmt.Sprintf("during-kill-%02d", i)
			if _, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, plain(name, MySQLImage), metav1.CreateOptions{}); err != nil {
				refused = append(refused, fmt.Sprintf("%s: %v", name, err))
			} else {
				created = append(created, name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	time.Sleep(time.Second)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing %s (pid %d): %v", victim.Name, pid, err)
	}
	fmt.Printf("  killed the manager of %s (pid %d) during creates\n", victim.Name, pid)
	<-done
	t.Logf("%d created, %d refused", len(created), len(refused))
	for _, r := range refused {
		t.Logf("refused: %s", r)
	}
	list, err := c.Client.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, s := range list.Items {
		if !strings.HasPrefix(s.Name, "during-kill-") {
			continue
		}
		stored++
		if s.Annotations[contract.InjectorVersionAnnotation] == "" || len(s.Spec.Template.Spec.InitContainers) == 0 {
			t.Errorf("StatefulSet %s was stored without injection", s.Name)
		}
		_ = c.Client.AppsV1().StatefulSets(ns).Delete(ctx, s.Name, metav1.DeleteOptions{})
	}
	if stored != len(created) || stored == 0 {
		t.Errorf("%d stored, %d created", stored, len(created))
	}
	// The killed container restarts and both managers serve again.
	if err := Poll(ctx, 5*time.Minute, "both managers Ready again", func() (bool, error) {
		p, err := c.Client.CoreV1().Pods(installNS).Get(ctx, victim.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		restarted := len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount > victim.Status.ContainerStatuses[0].RestartCount
		return restarted && PodReady(p), nil
	}); err != nil {
		t.Fatal(err)
	}
}

// slowStartDelay keeps a server from answering well past the liveness
// window the webhook once injected (30 s delay, then three failures 10 s
// apart): that probe restarted the server before it ever answered.
const slowStartDelay = 100 * time.Second

// slowServer creates a one-pod StatefulSet whose server starts
// slowStartDelay late, as one in a long crash recovery or in the first
// start after an upgrade does; the function it returns checks that the pod
// became Ready with no restart, then deletes the StatefulSet and its claim.
func slowServer(ctx context.Context, t *testing.T, c *Cluster) func(*testing.T, *timings) {
	const name = "slow-start"
	sts := plain(name, MariaDBImage)
	sts.Spec.Replicas = ptr.To[int32](1)
	sts.Spec.Template.Spec.Containers[0].Command = []string{"bash", "-c",
		fmt.Sprintf("sleep %d; exec docker-entrypoint.sh mariadbd", int(slowStartDelay.Seconds()))}
	if _, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	return func(t *testing.T, tm *timings) {
		defer func() {
			_ = c.Client.AppsV1().StatefulSets(ns).Delete(ctx, name, metav1.DeleteOptions{})
			_ = c.Client.CoreV1().PersistentVolumeClaims(ns).DeleteCollection(ctx, metav1.DeleteOptions{},
				metav1.ListOptions{LabelSelector: "app=" + name})
		}()
		var p *corev1.Pod
		if err := Poll(ctx, 10*time.Minute, name+"-0 Ready", func() (bool, error) {
			var err error
			p, err = c.Client.CoreV1().Pods(ns).Get(ctx, name+"-0", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return err == nil && PodReady(p), err
		}); err != nil {
			tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, "app="+name))
		}
		tm.add("a server answering after "+slowStartDelay.String()+": Ready, not restarted", time.Since(created))
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == sts.Spec.Template.Spec.Containers[0].Name && cs.RestartCount != 0 {
				tm.fatalf(t, "the slow server was restarted %d times\n%s", cs.RestartCount, c.DescribePods(ctx, ns, "app="+name))
			}
		}
		t.Logf("%s-0 answered after a %s delay and became Ready %s after its StatefulSet was created, never restarted",
			name, slowStartDelay, time.Since(created).Round(time.Second))
	}
}

// upgradeUnderWrites changes the database image of StatefulSet d to image
// while a writer inserts a row through <name>-primary every 100 ms: every
// pod ends on the new version, replicates, and holds every row whose
// INSERT was acknowledged (writes fail while pod 0 restarts).
func upgradeUnderWrites(ctx context.Context, t *testing.T, tm *timings, c *Cluster, d DB, image, version string) {
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + d.Name})
	if err != nil {
		t.Fatal(err)
	}
	n := len(pods.Items)
	var (
		mu        sync.Mutex
		acked     []int
		misrouted []string
		// unanswered writes: the client ended without an error and
		// without the server's answer.
		unanswered []int
		failures   int
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for id, from := 10000, 0; ; id++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			// From whichever pod is running: every pod restarts, and an
			// exec into a pod that goes away may never end by itself.
			callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
			// Acknowledged: the server answered after the INSERT, and
			// said which server it is.
			out, err := c.SQL(callCtx, ns, d, fmt.Sprintf("%s-%d", d.Name, from%n), d.Name+"-primary",
				fmt.Sprintf("INSERT INTO e2e.t VALUES (%d, 'rolling'); SELECT CONCAT('acknowledged by ', @@server_id)", id))
			cancel()
			mu.Lock()
			switch {
			case err == nil && out == "acknowledged by 100":
				acked = append(acked, id)
			case err == nil && strings.HasPrefix(out, "acknowledged by "):
				misrouted = append(misrouted, fmt.Sprintf("%d: %q", id, out))
			case err == nil:
				// An exec into a pod that is going away can end with
				// success and no output: the statement's fate is unknown.
				unanswered = append(unanswered, id)
			default:
				failures++
				from++
			}
			mu.Unlock()
		}
	}()
	time.Sleep(2 * time.Second)
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":%q,"image":%q}]}}}}`, d.Container, image)
	if _, err := c.Client.AppsV1().StatefulSets(ns).Patch(ctx, d.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		close(stop)
		t.Fatal(err)
	}
	rolled := time.Now()
	err = c.StatefulSetReady(ctx, ns, d.Name, 20*time.Minute, func(pod string) {
		fmt.Printf("  %s Ready (%s into the rollout)\n", pod, time.Since(rolled).Round(time.Second))
	})
	time.Sleep(3 * time.Second)
	close(stop)
	<-done
	if err != nil {
		tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, "app="+d.Name))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(misrouted) > 0 {
		t.Errorf("writes through %s-primary answered by another server than the primary's (server_id 100): %v", d.Name, misrouted)
	}
	if len(acked) < 10 {
		t.Fatalf("only %d writes were acknowledged during the upgrade (%d failed)", len(acked), failures)
	}
	sts, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, d.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ctr := range append(sts.Spec.Template.Spec.InitContainers, sts.Spec.Template.Spec.Containers...) {
		// The stream helper's and the exporter's images are not the server's.
		if ctr.Name != contract.HelperInitContainer && ctr.Name != contract.MetricsContainer && ctr.Image != image {
			t.Errorf("%s runs %s after the upgrade", ctr.Name, ctr.Image)
		}
	}
	query := fmt.Sprintf("SELECT COUNT(*) FROM e2e.t WHERE id IN (%s)", strings.Trim(strings.Join(strings.Fields(fmt.Sprint(acked)), ","), "[]"))
	for i := range n {
		pod := fmt.Sprintf("%s-%d", d.Name, i)
		if got, err := c.SQL(ctx, ns, d, pod, "127.0.0.1", "SELECT VERSION()"); err != nil || !strings.HasPrefix(got, version) {
			t.Errorf("%s runs %q (%v), want %s", pod, got, err, version)
		}
		if err := c.Eventually(ctx, ns, d, pod, "127.0.0.1", query, fmt.Sprint(len(acked))); err != nil {
			have, _ := c.SQL(ctx, ns, d, pod, "127.0.0.1", "SELECT GROUP_CONCAT(id ORDER BY id) FROM e2e.t WHERE id >= 10000")
			t.Errorf("%s lacks acknowledged rows: %v\nacknowledged: %v\nit has: %s", pod, err, acked, have)
		}
		if i > 0 {
			// Ready means both replication threads run; -N leaves out the
			// field names.
			st, err := c.SQL(ctx, ns, d, pod, "127.0.0.1", "SHOW SLAVE STATUS")
			if err != nil || !strings.Contains(st, "Slave_Pos") {
				t.Errorf("%s does not replicate by GTID after the upgrade (%v): %s", pod, err, st)
			}
		}
	}
	if t.Failed() {
		return
	}
	t.Logf("%d pods on %s; %d writes acknowledged during the rollout (%d refused while pods restarted, %d unanswered: %v), every acknowledged one on every pod",
		n, image, len(acked), failures, len(unanswered), unanswered)
}
