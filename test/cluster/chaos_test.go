// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// load is a steady write load through <name>-primary and reads through
// <name>-replicas, each from whichever pod of the StatefulSet answers:
// single-row inserts with increasing ids into a table of its own, every
// acknowledged one recorded with its time; reads of the highest id a
// replica holds.
type load struct {
	c     *Cluster
	d     DB
	table string
	pods  func() int
	// pause is the time between two writes: each write is an exec into a
	// pod, which costs the node CPU that its probes need too.
	pause time.Duration

	mu        sync.Mutex
	started   time.Time
	acked     []int
	ackedAt   []time.Time
	failedAt  []time.Time
	misrouted []string
	readAt    []time.Time
	unread    int
	staleness time.Duration

	stop chan struct{}
	done sync.WaitGroup
}

// startLoad starts writing into table (which it creates), and reading
// when reads is set.
func startLoad(ctx context.Context, t *testing.T, c *Cluster, d DB, table string, reads bool, pods func() int) *load {
	return startLoadEvery(ctx, t, c, d, table, reads, pods, 50*time.Millisecond)
}

// startLoadEvery is startLoad with pause between two writes.
func startLoadEvery(ctx context.Context, t *testing.T, c *Cluster, d DB, table string, reads bool, pods func() int, pause time.Duration) *load {
	if _, err := c.SQL(ctx, ns, d, d.Name+"-1", d.Name+"-primary", "CREATE TABLE "+table+" (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	l := &load{c: c, d: d, table: table, pods: pods, pause: pause, started: time.Now(), stop: make(chan struct{})}
	l.done.Add(1)
	go l.write(ctx)
	if reads {
		l.done.Add(1)
		go l.read(ctx)
	}
	return l
}

func (l *load) pod(i int) string { return fmt.Sprintf("%s-%d", l.d.Name, i%l.pods()) }

func (l *load) write(ctx context.Context) {
	defer l.done.Done()
	for id, from := 1, 1; ; id++ {
		select {
		case <-l.stop:
			return
		case <-time.After(l.pause):
		}
		callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		out, err := l.c.SQL(callCtx, ns, l.d, l.pod(from), l.d.Name+"-primary",
			fmt.Sprintf("INSERT INTO "+l.table+" VALUES (%d); SELECT CONCAT('acknowledged by ', @@server_id)", id))
		cancel()
		now := time.Now()
		l.mu.Lock()
		switch {
		case err == nil && out == "acknowledged by 100":
			l.acked = append(l.acked, id)
			l.ackedAt = append(l.ackedAt, now)
		case err == nil && strings.HasPrefix(out, "acknowledged by "):
			l.misrouted = append(l.misrouted, fmt.Sprintf("%d: %q", id, out))
		case err == nil:
			// An exec into a pod going away can end without the answer:
			// the statement's fate is unknown, and it is not counted.
		default:
			l.failedAt = append(l.failedAt, now)
			from++
		}
		l.mu.Unlock()
	}
}

func (l *load) read(ctx context.Context) {
	defer l.done.Done()
	for from := 2; ; {
		select {
		case <-l.stop:
			return
		case <-time.After(200 * time.Millisecond):
		}
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		out, err := l.c.SQL(callCtx, ns, l.d, l.pod(from), l.d.Name+"-replicas", "SELECT COALESCE(MAX(id), 0) FROM "+l.table)
		cancel()
		now := time.Now()
		held, convErr := strconv.Atoi(out)
		l.mu.Lock()
		if err != nil || convErr != nil {
			l.unread++
			from++
		} else {
			l.readAt = append(l.readAt, now)
			// How stale the read was: since the first acknowledged write
			// it does not hold.
			if i := sort.SearchInts(l.acked, held+1); i < len(l.acked) && l.ackedAt[i].Before(now) {
				l.staleness = max(l.staleness, now.Sub(l.ackedAt[i]))
			}
		}
		l.mu.Unlock()
	}
}

// end stops the load.
func (l *load) end() {
	close(l.stop)
	l.done.Wait()
}

// verify checks, after end, that no write went to another server than
// the primary's, that no fewer than least writes were acknowledged, and that
// each of the first n pods holds every acknowledged write and a table
// whose checksum equals the primary's.
func (l *load) verify(ctx context.Context, t *testing.T, n, least int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	pod := func(i int) string { return fmt.Sprintf("%s-%d", l.d.Name, i) }
	if len(l.misrouted) > 0 {
		t.Errorf("writes through %s-primary answered by another server than the primary's: %v", l.d.Name, l.misrouted)
	}
	if len(l.acked) < least {
		t.Fatalf("only %d writes were acknowledged (%d failed)", len(l.acked), len(l.failedAt))
	}
	ids := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(l.acked)), ","), "[]")
	count := fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE id IN (%s)", l.table, ids)
	checksum, err := l.c.SQL(ctx, ns, l.d, pod(0), "127.0.0.1", "CHECKSUM TABLE "+l.table)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := l.c.Eventually(ctx, ns, l.d, pod(i), "127.0.0.1", count, strconv.Itoa(len(l.acked))); err != nil {
			t.Errorf("%s lacks acknowledged writes: %v", pod(i), err)
		}
		if err := l.c.Eventually(ctx, ns, l.d, pod(i), "127.0.0.1", "CHECKSUM TABLE "+l.table, checksum); err != nil {
			t.Errorf("%s's table differs from the primary's: %v", pod(i), err)
		}
	}
}

// longestGap is the longest time between two of times (and from the
// start, and to the end).
func longestGap(times []time.Time, start, end time.Time) time.Duration {
	var gap time.Duration
	last := start
	for _, t := range append(slices.Clone(times), end) {
		gap = max(gap, t.Sub(last))
		last = t
	}
	return gap
}

func countBetween(times []time.Time, from, to time.Time) int {
	n := 0
	for _, t := range times {
		if !t.Before(from) && !t.After(to) {
			n++
		}
	}
	return n
}

// fault is one fault of the chaos run and the time the pods took to be
// ready again.
type fault struct {
	name       string
	start, end time.Time
}

// chaos runs the faults in turn under the load — the primary's server
// killed with SIGKILL, a replica pod deleted, a sidecar killed, a scale up
// by one, a rollout — waiting after each until every pod is ready by
// itself; then every acknowledged write is on every pod, and every
// replica's checksum of the table equals the primary's. It prints the
// figures of the run (BENCHMARKS.md: "Faults under a write load").
func chaos(ctx context.Context, t *testing.T, c *Cluster, tm *timings, d DB, replicas int) {
	pod := func(i int) string { return fmt.Sprintf("%s-%d", d.Name, i) }
	var mu sync.Mutex
	n := replicas
	l := startLoad(ctx, t, c, d, "e2e.w", true, func() int { mu.Lock(); defer mu.Unlock(); return n })
	time.Sleep(5 * time.Second)

	var faults []fault
	run := func(name string, do func() error, settled func() error) {
		t.Helper()
		f := fault{name: name, start: time.Now()}
		if err := do(); err != nil {
			l.end()
			tm.fatalf(t, "%s: %v", name, err)
		}
		if err := settled(); err != nil {
			l.end()
			tm.fatalf(t, "%s: %v\n%s", name, err, c.DescribePods(ctx, ns, "app="+d.Name))
		}
		if err := c.StatefulSetReady(ctx, ns, d.Name, 15*time.Minute, nil); err != nil {
			l.end()
			tm.fatalf(t, "%s: %v\n%s", name, err, c.DescribePods(ctx, ns, "app="+d.Name))
		}
		f.end = time.Now()
		faults = append(faults, f)
		t.Logf("%s: every pod ready again after %s", name, f.end.Sub(f.start).Round(time.Second))
		time.Sleep(5 * time.Second)
	}
	restarted := func(podName, container string) (func() error, func() error) {
		var before int32
		kill := func() error {
			p, err := c.Client.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == container {
					before = cs.RestartCount
					pid, err := c.ContainerPID(ctx, cs.ContainerID)
					if err != nil {
						return err
					}
					return syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			return fmt.Errorf("%s has no container %s", podName, container)
		}
		again := func() error {
			return Poll(ctx, 5*time.Minute, podName+"/"+container+" restarted", func() (bool, error) {
				p, err := c.Client.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				for _, cs := range p.Status.ContainerStatuses {
					if cs.Name == container && cs.RestartCount > before {
						return true, nil
					}
				}
				return false, nil
			})
		}
		return kill, again
	}
	var oldUID types.UID
	kill, again := restarted(pod(0), d.Container)
	run("the primary's server killed (SIGKILL)", kill, again)
	run("a replica pod deleted", func() error {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, pod(2), metav1.GetOptions{})
		if err != nil {
			return err
		}
		oldUID = p.UID
		return c.Client.CoreV1().Pods(ns).Delete(ctx, pod(2), metav1.DeleteOptions{})
	}, func() error {
		return Poll(ctx, 5*time.Minute, pod(2)+" recreated", func() (bool, error) {
			p, err := c.Client.CoreV1().Pods(ns).Get(ctx, pod(2), metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return err == nil && p.UID != oldUID, err
		})
	})
	kill, again = restarted(pod(1), contract.SidecarContainer)
	run("a replica's sidecar killed (SIGKILL)", kill, again)
	run("scaled up by one", func() error {
		mu.Lock()
		n++
		want := n
		mu.Unlock()
		_, err := c.Client.AppsV1().StatefulSets(ns).Patch(ctx, d.Name, types.MergePatchType,
			[]byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, want)), metav1.PatchOptions{})
		return err
	}, func() error { return nil })
	var revision string
	run("rolled (a pod template annotation changed)", func() error {
		sts, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, d.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		revision = sts.Status.UpdateRevision
		_, err = c.Client.AppsV1().StatefulSets(ns).Patch(ctx, d.Name, types.MergePatchType,
			[]byte(fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"e2e/rolled":%q}}}}}`, time.Now().Format(time.RFC3339))), metav1.PatchOptions{})
		return err
	}, func() error {
		// The StatefulSet controller has seen the change before readiness
		// is asked of it.
		return Poll(ctx, time.Minute, "the rollout to start", func() (bool, error) {
			sts, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, d.Name, metav1.GetOptions{})
			return err == nil && sts.Status.ObservedGeneration >= sts.Generation && sts.Status.UpdateRevision != revision, err
		})
	})
	time.Sleep(5 * time.Second)
	l.end()
	end := time.Now()

	l.verify(ctx, t, n, 20)
	if t.Failed() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	took := end.Sub(l.started)
	fmt.Printf("\nfaults under a write load, %s (%d pods at the end), %s:\n", d.Name, n, took.Round(time.Second))
	fmt.Printf("  %-48s %8s %16s\n", "fault", "ready in", "failed writes")
	for _, f := range faults {
		fmt.Printf("  %-48s %8s %16d\n", f.name, f.end.Sub(f.start).Round(time.Second), countBetween(l.failedAt, f.start, f.end))
	}
	fmt.Printf("  acknowledged writes %d (%.1f/s), failed %d, lost 0\n", len(l.acked), float64(len(l.acked))/took.Seconds(), len(l.failedAt))
	fmt.Printf("  longest time %s-primary acknowledged no write   %s\n", d.Name, longestGap(l.ackedAt, l.started, end).Round(100*time.Millisecond))
	fmt.Printf("  longest time %s-replicas answered no read       %s (%d reads failed)\n", d.Name, longestGap(l.readAt, l.started, end).Round(100*time.Millisecond), l.unread)
	fmt.Printf("  largest staleness of a read through %s-replicas %s\n", d.Name, l.staleness.Round(100*time.Millisecond))
	tm.add(fmt.Sprintf("StatefulSet %s: 5 faults under writes, nothing lost", d.Name), took)
}
