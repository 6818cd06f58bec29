// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Command databench measures the data path on a real one-node cluster on
// this machine (make bench-data): how long a new replica of a primary
// holding 1 and 4 GiB takes from its pod's creation to Ready, for MySQL 9.7
// (CLONE) and MariaDB 10.11 (the backup stream), against the floor
// measured in the same run on the same disk: copying the primary's data
// directory (cp -a) and starting a server on the copy. It prints one
// `name value` line per figure: the median over the rounds, and its spread.
//
// A one-node cluster, not the replication rig: what a user waits for
// beyond the copy is the pod's fixed costs (init containers, the server's
// restart, the probes' delays and periods), which only a kubelet has; one
// node keeps the donor, the replica and the floor's copy on one disk.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/cluster"
)

const (
	configDir = "config"
	ns        = "default"
	// noisyFloorSpread is the noise rule: the floor does the same work in
	// every round, so a run whose floor varies by more than this share of
	// its median was disturbed. The floor is a copy bound by the disk,
	// which varies by itself: two runs on this machine with nothing else
	// running had floors varying by 3% to 21% across their rounds.
	noisyFloorSpread = 0.25
)

// server is one database server the data path is measured for.
type server struct {
	cluster.DB
	sample, image, title string
	// daemon and admin are the server's and its admin tool's binaries;
	// floorArgs start the server on the copy.
	daemon, admin string
	floorArgs     string
}

var servers = map[string]server{
	"mysql": {DB: cluster.DB{Container: "mysql", Client: "mysql"}, sample: "mysql", image: cluster.MySQLImage, title: "MySQL 9.7",
		daemon: "mysqld", admin: "mysqladmin", floorArgs: "--disable-log-bin --mysqlx=OFF"},
	"mariadb": {DB: cluster.DB{Container: "mariadb", Client: "mariadb"}, sample: "mariadb", image: cluster.MariaDBImage, title: "MariaDB 10.11",
		daemon: "mariadbd", admin: "mariadb-admin"},
}

func main() {
	ctrllog.SetLogger(logr.Discard())
	sizes := flag.String("sizes", "1,4", "the primary's data, in GiB, comma-separated (empty: no new replica measured)")
	names := flag.String("servers", "mysql,mariadb", "the servers, comma-separated")
	rounds := flag.Int("rounds", 3, "rounds of every measurement; figures are medians")
	lagSeconds := flag.Int("lag-seconds", 30, "how long each write load runs while the replicas' lag is sampled")
	three := flag.Bool("three", true, "measure the cluster of three and its write loads (false: only new replicas, and no section is written)")
	write := flag.String("write", "", "BENCHMARKS.md whose section \""+sectionTitle+"\" a quiet run replaces")
	flag.Parse()
	if !*three {
		*lagSeconds = 0
	}
	if err := run(strings.Split(*names, ","), strings.Split(*sizes, ","), *rounds, *lagSeconds, *write); err != nil {
		fmt.Fprintln(os.Stderr, "databench:", err)
		os.Exit(1)
	}
}

func env(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%s is not set (make bench-data sets it)", name)
}

// run measures; lagSeconds 0 leaves out the cluster of three and its
// write loads.
func run(names, sizes []string, rounds, lagSeconds int, write string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	settings := map[string]string{}
	for _, name := range []string{"CLUSTER_BIN", "WEBHOOK_BIN", "HELPER_BIN", "CERTMANAGER_BIN", "MYSQL_ROOT", "MARIADB_ROOT"} {
		v, err := env(name)
		if err != nil {
			return err
		}
		settings[name] = v
	}
	webhookImg, err := cluster.WebhookImageOf(settings["WEBHOOK_BIN"], settings["HELPER_BIN"])
	if err != nil {
		return err
	}
	mysqlImg, err := cluster.MySQLImageOf(settings["MYSQL_ROOT"])
	if err != nil {
		return err
	}
	mariadbImg, err := cluster.MariaDBImageOf(settings["MARIADB_ROOT"])
	if err != nil {
		return err
	}
	var gib []int
	for _, s := range sizes {
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("size %q: want a whole number of GiB", s)
		}
		gib = append(gib, n)
	}
	for _, name := range names {
		if _, ok := servers[name]; !ok {
			return fmt.Errorf("server %q: want mysql or mariadb", name)
		}
	}
	// Each measurement of a new replica claims two volumes, each of three
	// replicas six; each is released after it.
	c, err := cluster.Start(ctx, cluster.Options{Bin: settings["CLUSTER_BIN"], Nodes: 1,
		Images: []cluster.Image{webhookImg, mysqlImg, mariadbImg}, Volumes: (2*len(gib)+6)*len(names)*rounds + 2, Log: os.Stderr})
	if err != nil {
		return err
	}
	defer c.Stop()
	if err := c.RunCertManager(ctx, settings["CERTMANAGER_BIN"]); err != nil {
		return err
	}
	installed, err := c.InstallProject(ctx, configDir, cluster.WebhookImage)
	if err != nil {
		return err
	}
	if err := c.WaitReady(ctx, installed, func(s string) { fmt.Fprintln(os.Stderr, "  "+s) }); err != nil {
		return err
	}

	results := map[string][]float64{}
	var order []string
	add := func(name string, v float64) {
		if _, ok := results[name]; !ok {
			order = append(order, name)
		}
		results[name] = append(results[name], v)
	}
	for round := range rounds {
		for _, name := range names {
			for _, size := range gib {
				m, err := measure(ctx, c, servers[name], name, size, round)
				if err != nil {
					return fmt.Errorf("%s, %d GiB, round %d: %w", name, size, round+1, err)
				}
				key := fmt.Sprintf("%s_%dgib", name, size)
				fmt.Fprintf(os.Stderr, "round %d %s: %d bytes; floor %.1f s (copy %.1f s, start %.1f s); clone %.1f s (clone-mysql %.0f s)\n",
					round+1, key, m.bytes, m.copy+m.start, m.copy, m.start, m.clone, m.cloneInit)
				add("data_bytes_"+key, float64(m.bytes))
				add("copy_floor_seconds_"+key, m.copy+m.start)
				add("clone_seconds_"+key, m.clone)
				add("clone_vs_copy_ratio_"+key, m.clone/(m.copy+m.start))
				add("copy_bytes_per_second_"+key, float64(m.bytes)/m.copy)
				add("clone_bytes_per_second_"+key, float64(m.bytes)/m.clone)
				add("clone_init_container_seconds_"+key, m.cloneInit)
			}
		}
	}
	for round := range rounds {
		if lagSeconds == 0 {
			break
		}
		for _, name := range names {
			labeled, plain, err := clusterReady(ctx, c, servers[name], name, round, func(s server) error {
				// The write load, on the labeled cluster of three.
				for _, threads := range lagThreads {
					l, err := replicaLag(ctx, c, s, threads, lagSeconds)
					if err != nil {
						return fmt.Errorf("%d threads: %w", threads, err)
					}
					key := fmt.Sprintf("%s_%d", name, threads)
					fmt.Fprintf(os.Stderr, "round %d %s threads: %.0f commits/s, replicas applied %.0f/s, lag p50 %.2f s, p99 %.2f s (max %.2f s, %d samples); the machine's CPU %.0f%% busy\n",
						round+1, key, l.commits, l.applied, l.p50, l.p99, l.max, l.samples, 100*l.busy)
					add("commits_per_second_"+key, l.commits)
					add("replica_lag_p50_seconds_"+key, l.p50)
					add("replica_lag_p99_seconds_"+key, l.p99)
					add("cpu_busy_share_"+key, l.busy)
					add("apply_vs_commit_ratio_"+key, l.applied/l.commits)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("%s, three replicas, round %d: %w", name, round+1, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %s: three replicas ready in %.1f s, unlabeled %.1f s\n", round+1, name, labeled, plain)
			add("cluster_ready_seconds_"+name, labeled)
			add("plain_ready_seconds_"+name, plain)
			add("cluster_ready_vs_plain_ratio_"+name, labeled/plain)
		}
	}
	noisy := false
	for _, name := range order {
		med, spread := medianSpread(results[name])
		fmt.Printf("%s %s\n", name, format(med))
		fmt.Printf("%s_spread %.2f\n", name, spread)
		if strings.HasPrefix(name, "copy_floor_seconds_") && spread > noisyFloorSpread {
			noisy = true
		}
	}
	fmt.Printf("bench_data_rounds %d\n", rounds)
	fmt.Printf("bench_data_noisy %t\n", noisy)
	switch {
	case write == "":
	case lagSeconds == 0 || len(gib) == 0:
		fmt.Fprintf(os.Stderr, "databench: a run that leaves out a part of the data path does not write %s\n", write)
	case rounds < 3:
		fmt.Fprintf(os.Stderr, "databench: %d rounds are too few to tell a quiet run from a noisy one: %s not written\n", rounds, write)
	case noisy:
		return fmt.Errorf("the floor varied by more than %.0f%% across rounds (noise rule): %s not written; run again on a quiet machine", noisyFloorSpread*100, write)
	default:
		return writeSection(write, section(names, gib, rounds, results))
	}
	return nil
}

// sectionTitle heads the section of BENCHMARKS.md this command writes.
const sectionTitle = "## The data path: a new replica against copying its data"

// section is that section, from a quiet run's results.
func section(names []string, gib []int, rounds int, results map[string][]float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", sectionTitle)
	fmt.Fprintf(&b, "Measured by `make bench-data` on %s, %d rounds, with nothing else running on the machine. "+
		"Each figure is the median over the rounds, with its spread ((max - min) / median) in parentheses.\n\n", time.Now().UTC().Format("2006-01-02"), rounds)
	b.WriteString("A one-node cluster on this machine runs `config/samples/<server>.yaml` as written (MySQL at 9.7) with one replica, " +
		"fills it with rows of 3 KiB of random bytes (kept out of the binary log), waits until InnoDB has written every page, and drops the page cache " +
		"before each measurement. **Copy floor**: in the primary's container, `cp -a` of its data directory onto the container's filesystem " +
		"(the same disk), then a server started on the copy until it answers `ping`. **New replica**: the StatefulSet scaled to 2, " +
		"from the moment its pod exists to its Ready condition (polled every 100 ms); `clone-mysql` is the part its init container ran " +
		"(whole seconds, from the pod's status). Goal: a new replica ready in at most 1.5× the copy floor at 4 GiB.\n\n")
	b.WriteString("| server | data | copy floor | new replica | ratio | copy | clone | clone-mysql |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, name := range names {
		for _, size := range gib {
			key := fmt.Sprintf("%s_%dgib", name, size)
			of := func(figure, unit string, scale float64) string { return cell(results[figure+"_"+key], unit, scale, 1) }
			bytes, _ := medianSpread(results["data_bytes_"+key])
			fmt.Fprintf(&b, "| %s | %d GiB (%.2f GiB on disk) | %s | %s | %s | %s | %s | %s |\n", servers[name].title,
				size, bytes/(1<<30), of("copy_floor_seconds", " s", 1), of("clone_seconds", " s", 1), of("clone_vs_copy_ratio", "×", 1),
				of("copy_bytes_per_second", " MB/s", 1e-6), of("clone_bytes_per_second", " MB/s", 1e-6), of("clone_init_container_seconds", " s", 1))
		}
	}
	b.WriteString("\nThree replicas from the StatefulSet's creation to all Ready (polled every 100 ms), labeled, against the same StatefulSet " +
		"unlabeled: three independent servers, each with the same claim mounted, its root password in the environment and a readiness probe " +
		"that holds once the server accepts connections (tcpSocket 3306, every second). Goal: at most 1.5×.\n\n")
	b.WriteString("| server | labeled | unlabeled | ratio |\n| --- | --- | --- | --- |\n")
	for _, name := range names {
		of := func(figure, unit string) string { return cell(results[figure+"_"+name], unit, 1, 1) }
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", servers[name].title,
			of("cluster_ready_seconds", " s"), of("plain_ready_seconds", " s"), of("cluster_ready_vs_plain_ratio", "×"))
	}
	b.WriteString("\nReplica lag under a write load on the labeled cluster of three: 1 and 8 client sessions in the primary's container, " +
		"each committing one row of 200 random bytes per transaction as fast as the primary takes them, for a fixed time; beside it the primary " +
		"stamps a heartbeat row with its clock every 100 ms, and every second each replica reads how old the heartbeat it has applied is (the lag, " +
		"to 100 ms) and the highest row it holds. The apply rate is the slower replica's; the machine's CPU busy share is over the load, from /proc/stat. " +
		"Goals: lag p99 under 1 s at 1 session; apply/commit at least 0.95 at 8.\n\n")
	b.WriteString("| server | sessions | commits/s | lag p50 | lag p99 | apply/commit | machine's CPU busy |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, name := range names {
		for _, threads := range lagThreads {
			key := fmt.Sprintf("%s_%d", name, threads)
			of := func(figure, unit string, digits int) string { return cell(results[figure+"_"+key], unit, 1, digits) }
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", servers[name].title, threads,
				of("commits_per_second", "", 0), of("replica_lag_p50_seconds", " s", 2), of("replica_lag_p99_seconds", " s", 2),
				of("apply_vs_commit_ratio", "", 2), cell(results["cpu_busy_share_"+key], "%", 100, 0))
		}
	}
	return b.String()
}

// cell is a table's cell: the median of values, scaled, and its spread.
func cell(values []float64, unit string, scale float64, digits int) string {
	med, spread := medianSpread(values)
	return fmt.Sprintf("%.*f%s (%.0f%%)", digits, med*scale, unit, spread*100)
}

// writeSection replaces the section of the Markdown file at path that
// starts with sectionTitle (up to the next "## "), or appends it.
func writeSection(path, section string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc := string(b)
	start := strings.Index(doc, sectionTitle+"\n")
	if start < 0 {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + section
	} else {
		end := len(doc)
		if next := strings.Index(doc[start+len(sectionTitle):], "\n## "); next >= 0 {
			end = start + len(sectionTitle) + next + 1
		}
		doc = doc[:start] + section + "\n" + strings.TrimLeft(doc[end:], "\n")
	}
	return os.WriteFile(path, []byte(strings.TrimRight(doc, "\n")+"\n"), 0o644)
}

// measurement is one round of one server and size.
type measurement struct {
	bytes int64
	// copy and start are the floor's two parts; clone is the new
	// replica's pod from its creation to Ready, cloneInit the part of it
	// clone-mysql ran (whole seconds, from the pod's status).
	copy, start, clone, cloneInit float64
}

// measure runs a primary of the sample's StatefulSet, fills it with size
// GiB, measures the floor in the primary's container, then scales to 2
// and times the new replica; it removes the StatefulSet and its volumes'
// data afterwards.
func measure(ctx context.Context, c *cluster.Cluster, s server, name string, size, round int) (m measurement, err error) {
	s.Name = fmt.Sprintf("bench-%s-%dg-%d", name, size, round)
	sts, err := statefulSet(s)
	if err != nil {
		return m, err
	}
	if _, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		return m, err
	}
	defer func() {
		if cerr := remove(ctx, c, s.Name); err == nil {
			err = cerr
		}
	}()
	if err := c.StatefulSetReady(ctx, ns, s.Name, 10*time.Minute, nil); err != nil {
		return m, fmt.Errorf("%w\n%s", err, c.DescribePods(ctx, ns, "app="+s.Name))
	}
	primary := s.Name + "-0"
	if err := fill(ctx, c, s, primary, size); err != nil {
		return m, err
	}

	if err := dropCaches(); err != nil {
		return m, err
	}
	if m.bytes, m.copy, m.start, err = floor(ctx, c, s, primary); err != nil {
		return m, err
	}

	if err := dropCaches(); err != nil {
		return m, err
	}
	// What the donor's containers spent serving the clone, and how long
	// their CPU limits held them back (cgroup cpu.stat).
	donor, err := c.Client.CoreV1().Pods(ns).Get(ctx, primary, metav1.GetOptions{})
	if err != nil {
		return m, err
	}
	usageBefore := map[string]cpuStat{}
	for _, cs := range donor.Status.ContainerStatuses {
		if st, err := containerCPU(ctx, c, cs.ContainerID); err == nil {
			usageBefore[cs.Name] = st
		}
	}
	replica := s.Name + "-1"
	machineBefore, err := cpuTimes()
	if err != nil {
		return m, err
	}
	if _, err := c.Client.AppsV1().StatefulSets(ns).Patch(ctx, s.Name, types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{}); err != nil {
		return m, err
	}
	var created time.Time
	var pod *corev1.Pod
	err = poll(ctx, 30*time.Minute, func() (bool, error) {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, replica, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if created.IsZero() {
			created = time.Now()
		}
		pod = p
		return cluster.PodReady(p), nil
	})
	if err != nil {
		return m, fmt.Errorf("%s to be Ready: %w\n%s", replica, err, c.DescribePods(ctx, ns, "app="+s.Name))
	}
	m.clone = time.Since(created).Seconds()
	if machineAfter, err := cpuTimes(); err == nil && machineAfter[0] > machineBefore[0] {
		fmt.Fprintf(os.Stderr, "  the machine's CPU from the scale to Ready: %.0f%% busy\n",
			100*(1-(machineAfter[1]-machineBefore[1])/(machineAfter[0]-machineBefore[0])))
	}
	timeline(ctx, c, pod, created)
	for _, cs := range donor.Status.ContainerStatuses {
		before, ok := usageBefore[cs.Name]
		if after, err := containerCPU(ctx, c, cs.ContainerID); ok && err == nil {
			fmt.Fprintf(os.Stderr, "  donor's %s: %.1f s of CPU, held back by its limit for %.1f s in %d periods\n", cs.Name,
				after.usage-before.usage, after.throttled-before.throttled, after.periods-before.periods)
		}
	}
	for _, cs := range pod.Status.InitContainerStatuses {
		if t := cs.State.Terminated; cs.Name == "clone-mysql" && t != nil {
			m.cloneInit = t.FinishedAt.Sub(t.StartedAt.Time).Seconds()
		}
	}
	return m, nil
}

// timeline prints to stderr, for the figures' analysis, what the new
// replica did from its pod's creation to Ready: each line its containers
// logged and each event of the pod, in the order of their times, as
// seconds since created.
func timeline(ctx context.Context, c *cluster.Cluster, pod *corev1.Pod, created time.Time) {
	type entry struct {
		at   time.Time
		what string
	}
	var entries []entry
	var names []string
	for _, ct := range pod.Spec.InitContainers {
		names = append(names, ct.Name)
	}
	for _, ct := range pod.Spec.Containers {
		names = append(names, ct.Name)
	}
	for _, name := range names {
		b, err := c.Client.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{Container: name, Timestamps: true}).DoRaw(ctx)
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(b)) {
			stamp, text, _ := strings.Cut(strings.TrimSpace(line), " ")
			if at, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
				entries = append(entries, entry{at, name + ": " + text})
			}
		}
	}
	if events, err := c.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.uid=" + string(pod.UID)}); err == nil {
		for _, e := range events.Items {
			at := e.EventTime.Time
			if at.IsZero() {
				at = e.FirstTimestamp.Time
			}
			entries = append(entries, entry{at, "event " + e.Reason + ": " + e.Message})
		}
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return a.at.Compare(b.at) })
	for _, e := range entries {
		fmt.Fprintf(os.Stderr, "  %+6.1f s  %s\n", e.at.Sub(created).Seconds(), e.what)
	}
}

// clusterReady times three replicas of the sample from their creation to
// all Ready, labeled, and then the same StatefulSet unlabeled: three
// independent servers, each with the same claim mounted as the webhook
// mounts it, its root password in the environment and a readiness probe
// that holds once the server accepts connections (tcpSocket 3306, every
// second).
func clusterReady(ctx context.Context, c *cluster.Cluster, s server, name string, round int, whileLabeled func(server) error) (labeled, plain float64, err error) {
	for i, enabled := range []bool{true, false} {
		s.Name = fmt.Sprintf("bench-%s-three-%d-%d", name, round, i)
		sts, err := statefulSet(s)
		if err != nil {
			return 0, 0, err
		}
		sts.Spec.Replicas = ptr.To[int32](3)
		if !enabled {
			delete(sts.Labels, contract.EnabledLabel)
			db := &sts.Spec.Template.Spec.Containers[0]
			db.Env = append(db.Env, corev1.EnvVar{Name: "MYSQL_ROOT_PASSWORD", Value: "bench"}, corev1.EnvVar{Name: "MARIADB_ROOT_PASSWORD", Value: "bench"})
			db.VolumeMounts = append(db.VolumeMounts, corev1.VolumeMount{Name: contract.DataVolume, MountPath: contract.DataDir, SubPath: contract.DataSubPath})
			db.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(contract.MySQLPort)}}, PeriodSeconds: 1}
			sts.Spec.VolumeClaimTemplates = append(sts.Spec.VolumeClaimTemplates, corev1.PersistentVolumeClaim{
				ObjectMeta: metav1.ObjectMeta{Name: contract.DataVolume},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
				},
			})
		}
		start := time.Now()
		if _, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
			return 0, 0, err
		}
		err = poll(ctx, 15*time.Minute, func() (bool, error) {
			got, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, s.Name, metav1.GetOptions{})
			return err == nil && got.Status.ReadyReplicas == 3, err
		})
		took := time.Since(start).Seconds()
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, c.DescribePods(ctx, ns, "app="+s.Name))
		} else if enabled {
			for i := range 3 {
				if pod, err := c.Client.CoreV1().Pods(ns).Get(ctx, fmt.Sprintf("%s-%d", s.Name, i), metav1.GetOptions{}); err == nil {
					fmt.Fprintf(os.Stderr, "%s, since the StatefulSet's creation:\n", pod.Name)
					timeline(ctx, c, pod, start)
				}
			}
			err = whileLabeled(s)
		}
		if rerr := remove(ctx, c, s.Name); err == nil {
			err = rerr
		}
		if err != nil {
			return 0, 0, err
		}
		if enabled {
			labeled = took
		} else {
			plain = took
		}
	}
	return labeled, plain, nil
}

// lagThreads are the client sessions of the write loads.
var lagThreads = []int{1, 8}

// lagResult is one write load's figures.
type lagResult struct {
	commits, applied float64 // transactions per second: the primary's, the slowest replica's
	p50, p99, max    float64 // seconds, over every replica's samples
	samples          int
	busy             float64 // the machine's CPU busy share during the load
}

// replicaLag runs a write load on pod 0 of a labeled StatefulSet of three
// for seconds: threads client sessions, each committing one row of 200
// random bytes per transaction as fast as the primary takes them, beside
// a heartbeat row the primary stamps with its clock every 100 ms. Every
// second each replica reads how old the heartbeat it has applied is (the
// lag, to 100 ms) and the highest row id it holds (its apply rate); the
// pods share this machine's clock.
func replicaLag(ctx context.Context, c *cluster.Cluster, s server, threads, seconds int) (lagResult, error) {
	var r lagResult
	primary := s.Name + "-0"
	setup := "CREATE DATABASE IF NOT EXISTS bench; DROP TABLE IF EXISTS bench.w, bench.hb; " +
		"CREATE TABLE bench.w (id BIGINT AUTO_INCREMENT PRIMARY KEY, b VARBINARY(255) NOT NULL) ENGINE=InnoDB; " +
		"CREATE TABLE bench.hb (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL) ENGINE=InnoDB; INSERT INTO bench.hb VALUES (1, NOW(6));"
	if _, err := c.SQL(ctx, ns, s.DB, primary, "127.0.0.1", setup); err != nil {
		return r, err
	}
	replicas := []string{s.Name + "-1", s.Name + "-2"}
	for _, pod := range replicas {
		if err := c.Eventually(ctx, ns, s.DB, pod, "127.0.0.1", "SELECT COUNT(*) FROM bench.hb", "1"); err != nil {
			return r, err
		}
	}
	client := s.Client + " --defaults-extra-file=/etc/mysql/conf.d/client.opt -h 127.0.0.1 -N -B bench"
	// The samplers start first and end after the load.
	sampler := fmt.Sprintf(`end=$((SECONDS + %d))
while ((SECONDS < end)); do
  echo "SELECT UNIX_TIMESTAMP(NOW(6)), UNIX_TIMESTAMP(NOW(6)) - UNIX_TIMESTAMP(ts), (SELECT COALESCE(MAX(id), 0) FROM bench.w) FROM bench.hb WHERE id = 1;"
  sleep 1
done | %s`, seconds+6, client)
	load := fmt.Sprintf(`set -euo pipefail
count() { echo "SELECT COALESCE(MAX(id), 0) FROM bench.w;" | %[1]s; }
sleep 2
before=$(count)
start=$(date +%%s.%%N)
end=$((SECONDS + %[2]d))
(while ((SECONDS < end)); do echo "UPDATE bench.hb SET ts = NOW(6) WHERE id = 1;"; sleep 0.1; done | %[1]s) &
for _ in $(seq %[3]d); do
  (while ((SECONDS < end)); do echo "INSERT INTO bench.w (b) VALUES (RANDOM_BYTES(200));"; done | %[1]s) &
done
wait
stop=$(date +%%s.%%N)
echo "$start $stop $before $(count)"`, client, seconds, threads)
	type sampled struct {
		out string
		err error
	}
	results := make(chan sampled, len(replicas))
	for _, pod := range replicas {
		go func() {
			out, stderr, err := c.Exec(ctx, ns, pod, s.Container, sampler, "bash")
			if err != nil {
				err = fmt.Errorf("sampling %s: %w: %s", pod, err, stderr)
			}
			results <- sampled{out, err}
		}()
	}
	cpuBefore, err := cpuTimes()
	if err != nil {
		return r, err
	}
	out, stderr, err := c.Exec(ctx, ns, primary, s.Container, load, "bash")
	if err != nil {
		return r, fmt.Errorf("the load on %s: %w: %s", primary, err, stderr)
	}
	cpuAfter, err := cpuTimes()
	if err != nil {
		return r, err
	}
	if total := cpuAfter[0] - cpuBefore[0]; total > 0 {
		r.busy = 1 - (cpuAfter[1]-cpuBefore[1])/total
	}
	var start, stop, before, after float64
	if _, err := fmt.Sscan(out, &start, &stop, &before, &after); err != nil {
		return r, fmt.Errorf("the load printed %q: %w", out, err)
	}
	r.commits = (after - before) / (stop - start)
	var lags []float64
	r.applied = math.Inf(1)
	for range replicas {
		got := <-results
		if got.err != nil {
			return r, got.err
		}
		// Samples within the load: the lag of each, and the replica's
		// rows from the first to the last.
		var first, last [2]float64
		for _, line := range strings.Split(strings.TrimSpace(got.out), "\n") {
			var at, lag, rows float64
			if _, err := fmt.Sscan(line, &at, &lag, &rows); err != nil || at < start || at > stop {
				continue
			}
			lags = append(lags, lag)
			if first[0] == 0 {
				first = [2]float64{at, rows}
			}
			last = [2]float64{at, rows}
		}
		if last[0] <= first[0] {
			return r, fmt.Errorf("a replica's samples hold no span of the load: %q", got.out)
		}
		r.applied = min(r.applied, (last[1]-first[1])/(last[0]-first[0]))
	}
	slices.Sort(lags)
	r.samples = len(lags)
	r.p50 = lags[len(lags)/2]
	r.p99 = lags[min(len(lags)-1, int(math.Ceil(0.99*float64(len(lags))))-1)]
	r.max = lags[len(lags)-1]
	return r, nil
}

// cpuStat is a container's CPU use so far: seconds used, seconds held back
// by its limit, and the number of periods it was held back in.
type cpuStat struct {
	usage, throttled float64
	periods          int
}

// containerCPU reads the CPU accounting of a running container's cgroup,
// version 2 (cpu.stat) or version 1 (the cpu and cpuacct hierarchies).
func containerCPU(ctx context.Context, c *cluster.Cluster, containerID string) (cpuStat, error) {
	var st cpuStat
	pid, err := c.ContainerPID(ctx, containerID)
	if err != nil {
		return st, err
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return st, err
	}
	paths := map[string]string{} // controller ("" in version 2) to path
	for line := range strings.Lines(strings.TrimSpace(string(b))) {
		fields := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(fields) != 3 {
			continue
		}
		for _, controller := range strings.Split(fields[1], ",") {
			paths[controller] = fields[2]
		}
	}
	stats := map[string]float64{}
	read := func(file string) error {
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		for line := range strings.Lines(string(b)) {
			var key string
			var v float64
			if _, err := fmt.Sscan(line, &key, &v); err == nil {
				stats[key] = v
			}
		}
		return nil
	}
	if cpu, ok := paths["cpu"]; ok {
		if err := read(filepath.Join("/sys/fs/cgroup/cpu", cpu, "cpu.stat")); err != nil {
			return st, err
		}
		usage, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuacct", paths["cpuacct"], "cpuacct.usage"))
		if err != nil {
			return st, err
		}
		ns, err := strconv.ParseFloat(strings.TrimSpace(string(usage)), 64)
		if err != nil {
			return st, err
		}
		return cpuStat{usage: ns / 1e9, throttled: stats["throttled_time"] / 1e9, periods: int(stats["nr_throttled"])}, nil
	}
	if err := read(filepath.Join("/sys/fs/cgroup", paths[""], "cpu.stat")); err != nil {
		return st, err
	}
	return cpuStat{usage: stats["usage_usec"] / 1e6, throttled: stats["throttled_usec"] / 1e6, periods: int(stats["nr_throttled"])}, nil
}

// cpuTimes is the machine's CPU time so far, in clock ticks: all of it and
// the idle part (idle and iowait), from /proc/stat.
func cpuTimes() ([2]float64, error) {
	var t [2]float64
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return t, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 6 || fields[0] != "cpu" {
		return t, fmt.Errorf("/proc/stat begins with %q", line)
	}
	for i, f := range fields[1:] {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return t, fmt.Errorf("/proc/stat: %q: %w", line, err)
		}
		if i < 8 { // user nice system idle iowait irq softirq steal
			t[0] += v
		}
		if i == 3 || i == 4 {
			t[1] += v
		}
	}
	return t, nil
}

// statefulSet is config/samples/<sample>.yaml as written (MySQL at 9.7),
// named s.Name, with one replica.
func statefulSet(s server) (*appsv1.StatefulSet, error) {
	b, err := os.ReadFile(filepath.Join(configDir, "samples", s.sample+".yaml"))
	if err != nil {
		return nil, err
	}
	objs, err := cluster.Decode(b)
	if err != nil || len(objs) != 1 {
		return nil, fmt.Errorf("config/samples/%s.yaml: want one object (%v)", s.sample, err)
	}
	sts, err := cluster.StatefulSetOf(objs[0])
	if err != nil {
		return nil, err
	}
	sts.Name, sts.Namespace, sts.Spec.ServiceName = s.Name, ns, s.Name
	sts.Spec.Replicas = ptr.To[int32](1)
	sts.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": s.Name}}
	sts.Spec.Template.Labels = map[string]string{"app": s.Name}
	sts.Spec.Template.Spec.Containers[0].Image = s.image
	return sts, nil
}

// fill writes size GiB of incompressible rows into the primary, kept out
// of its binary log (a replica gets them by its clone), and waits until
// the buffer pool has written every page, so that neither the floor nor
// the clone waits for the primary's flushing.
func fill(ctx context.Context, c *cluster.Cluster, s server, pod string, size int) error {
	const rowsPerBatch = 1 << 16 // about 200 MiB of 3 KiB rows
	digits := "SELECT 0 d" + strings.Repeat(" UNION ALL SELECT 0", 15)
	setup := "SET SESSION sql_log_bin = 0; CREATE DATABASE bench; " +
		"CREATE TABLE bench.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, b VARBINARY(3072) NOT NULL) ENGINE=InnoDB; " +
		"CREATE TABLE bench.sixteen ENGINE=InnoDB AS " + digits + ";"
	if _, err := c.SQL(ctx, ns, s.DB, pod, "127.0.0.1", setup); err != nil {
		return err
	}
	// InnoDB keeps about five 3 KiB rows in a 16 KiB page.
	batches := int(math.Ceil(float64(size) * (1 << 30) / (16384.0 / 5) / rowsPerBatch))
	insert := "SET SESSION sql_log_bin = 0; INSERT INTO bench.t (b) SELECT CONCAT(RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024)) " +
		"FROM bench.sixteen a, bench.sixteen b, bench.sixteen c, bench.sixteen d;"
	for range batches {
		if _, err := c.SQL(ctx, ns, s.DB, pod, "127.0.0.1", insert); err != nil {
			return err
		}
	}
	if _, err := c.SQL(ctx, ns, s.DB, pod, "127.0.0.1", "SET GLOBAL innodb_max_dirty_pages_pct = 0;"); err != nil {
		return err
	}
	defer func() {
		_, _ = c.SQL(ctx, ns, s.DB, pod, "127.0.0.1", "SET GLOBAL innodb_max_dirty_pages_pct = DEFAULT;")
	}()
	return poll(ctx, 5*time.Minute, func() (bool, error) {
		out, err := c.SQL(ctx, ns, s.DB, pod, "127.0.0.1", "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty';")
		fields := strings.Fields(out)
		return err == nil && len(fields) == 2 && fields[1] == "0", nil
	})
}

// floor copies the primary's data directory with cp -a onto the
// container's own filesystem (the same disk) and starts a server on the
// copy, in the primary's container, until it answers; it returns the
// bytes copied and the seconds each part took.
func floor(ctx context.Context, c *cluster.Cluster, s server, pod string) (int64, float64, float64, error) {
	script := fmt.Sprintf(`set -euo pipefail
copy=/var/tmp/floor
rm -rf "$copy"
now() { date +%%s.%%N; }
bytes=$(du -sb /var/lib/mysql | cut -f1)
t0=$(now)
cp -a /var/lib/mysql "$copy"
sync -f "$copy"
t1=$(now)
%s --no-defaults --datadir="$copy" --socket="$copy.sock" --pid-file="$copy.pid" --log-error="$copy.err" \
  --skip-networking --user=mysql %s &
pid=$!
until %s --no-defaults --socket="$copy.sock" --user=root ping >/dev/null 2>&1; do
  kill -0 $pid 2>/dev/null || { cat "$copy.err" >&2; exit 1; }
  sleep 0.05
done
t2=$(now)
kill $pid
wait $pid || true
rm -rf "$copy" "$copy".*
echo "$bytes $t0 $t1 $t2"
`, s.daemon, s.floorArgs, s.admin)
	out, stderr, err := c.Exec(ctx, ns, pod, s.Container, script, "bash")
	if err != nil {
		return 0, 0, 0, fmt.Errorf("the floor in %s: %w: %s", pod, err, stderr)
	}
	var bytes int64
	var t0, t1, t2 float64
	if _, err := fmt.Sscan(out, &bytes, &t0, &t1, &t2); err != nil {
		return 0, 0, 0, fmt.Errorf("the floor in %s printed %q: %w", pod, out, err)
	}
	return bytes, t1 - t0, t2 - t1, nil
}

// dropCaches empties the page cache, so that each measurement reads the
// data from the disk.
func dropCaches() error {
	syscall.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0o200)
}

// remove deletes the StatefulSet, its claims and what its volumes hold.
func remove(ctx context.Context, c *cluster.Cluster, name string) error {
	if err := c.Client.AppsV1().StatefulSets(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return err
	}
	if err := poll(ctx, 5*time.Minute, func() (bool, error) {
		pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		return err == nil && len(pods.Items) == 0, err
	}); err != nil {
		return err
	}
	claims, err := c.Client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		return err
	}
	var errs []error
	for _, pvc := range claims.Items {
		errs = append(errs, c.Client.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, pvc.Name, metav1.DeleteOptions{}))
		if pvc.Spec.VolumeName == "" {
			continue
		}
		pv, err := c.Client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
		if err != nil || pv.Spec.HostPath == nil {
			errs = append(errs, err)
			continue
		}
		entries, err := os.ReadDir(pv.Spec.HostPath.Path)
		errs = append(errs, err)
		for _, e := range entries {
			errs = append(errs, os.RemoveAll(filepath.Join(pv.Spec.HostPath.Path, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// poll calls cond every 100 ms until it is true or returns an error.
func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := cond()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// medianSpread is the median of vs and (max-min)/median.
func medianSpread(vs []float64) (float64, float64) {
	s := slices.Sorted(slices.Values(vs))
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	if med == 0 {
		return 0, 0
	}
	return med, (s[len(s)-1] - s[0]) / med
}

func format(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
