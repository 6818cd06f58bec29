// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// nodesOfPods maps each node to the pods of the selector on it.
func (c *Cluster) nodesOfPods(ctx context.Context, namespace, selector string) (map[string][]string, error) {
	pods, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	byNode := map[string][]string{}
	for _, p := range pods.Items {
		byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p.Name)
	}
	for _, names := range byNode {
		sort.Strings(names)
	}
	return byNode, nil
}

// readyPods counts the ready pods of the selector.
func (c *Cluster) readyPods(ctx context.Context, namespace, selector string) (int, error) {
	ready, _, err := c.podsDown(ctx, namespace, selector)
	return ready, err
}

// podsDown counts the ready pods of the selector and says, for each pod
// that is not, why: terminating, or the Ready condition's reason and the
// last readiness probe failure the kubelet reported for it.
func (c *Cluster) podsDown(ctx context.Context, namespace, selector string) (int, []string, error) {
	pods, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return 0, nil, err
	}
	ready := 0
	var down []string
	for i := range pods.Items {
		p := &pods.Items[i]
		if PodReady(p) {
			ready++
			continue
		}
		why := "terminating"
		if p.DeletionTimestamp == nil {
			why = fmt.Sprintf("%s, created %s ago", p.Status.Phase, time.Since(p.CreationTimestamp.Time).Round(time.Second))
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady {
					why += fmt.Sprintf(", not ready for %s (%s)", time.Since(cond.LastTransitionTime.Time).Round(time.Second), cond.Reason)
				}
			}
			if msg := c.lastUnhealthy(ctx, namespace, p.Name, p.UID); msg != "" {
				why += ": " + msg
			}
		}
		down = append(down, p.Name+": "+why)
	}
	sort.Strings(down)
	return ready, down, nil
}

// lastUnhealthy is the message of the newest Unhealthy event of the pod.
func (c *Cluster) lastUnhealthy(ctx context.Context, namespace, pod string, uid types.UID) string {
	events, err := c.Client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.name=" + pod + ",involvedObject.uid=" + string(uid) + ",reason=Unhealthy",
	})
	if err != nil || len(events.Items) == 0 {
		return ""
	}
	newest := slices.MaxFunc(events.Items, func(a, b corev1.Event) int {
		return a.LastTimestamp.Compare(b.LastTimestamp.Time)
	})
	return strings.TrimSpace(newest.Message)
}

// spreadOverNodes checks that the pods of StatefulSet d are each on a node
// of their own, as far as there are nodes: the webhook's preferred
// anti-affinity on the hostname.
func spreadOverNodes(ctx context.Context, t *testing.T, c *Cluster, d DB, pods int) {
	t.Helper()
	byNode, err := c.nodesOfPods(ctx, ns, "app="+d.Name)
	if err != nil {
		t.Fatal(err)
	}
	if want := min(pods, len(c.nodes)); len(byNode) != want {
		t.Errorf("the %d pods of %s are on %d nodes, not %d: %v", pods, d.Name, len(byNode), want, byNode)
		return
	}
	t.Logf("the pods of %s, one per node: %v", d.Name, byNode)
}

// drainUnderWrites drains, with `kubectl drain`, the node that holds the
// most pods of the samples and neither primary, while a write load runs on
// each sample: the drain waits for each StatefulSet's budget (one database
// pod down at a time), the primaries acknowledge writes throughout, every
// acknowledged write is on every pod at the end; after `kubectl uncordon`
// every pod is ready and the node takes pods again.
func drainUnderWrites(ctx context.Context, t *testing.T, c *Cluster, tm *timings, dbs []DB) {
	names := make([]string, len(dbs))
	for i, d := range dbs {
		names[i] = d.Name
	}
	selector := "app in (" + strings.Join(names, ",") + ")"
	byNode, err := c.nodesOfPods(ctx, ns, selector)
	if err != nil {
		t.Fatal(err)
	}
	var victim string
	for _, n := range c.NodeNames() {
		holdsPrimary := slices.ContainsFunc(byNode[n], func(p string) bool { return strings.HasSuffix(p, "-0") })
		if !holdsPrimary && len(byNode[n]) > len(byNode[victim]) {
			victim = n
		}
	}
	if victim == "" {
		t.Fatalf("no node holds replicas and no primary: %v", byNode)
	}
	t.Logf("draining %s, which holds %v (all: %v)", victim, byNode[victim], byNode)

	primaries := map[string]*corev1.Pod{}
	loads := map[string]*load{}
	replicas := map[string]int{}
	for _, d := range dbs {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, d.Name+"-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		primaries[d.Name] = p
		sts, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, d.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := int(*sts.Spec.Replicas)
		replicas[d.Name] = n
		// Writes only, one a second: each is an exec into a pod, and two
		// samples' readers, or writes back to back, load the machine's
		// two cores more than the drain does.
		loads[d.Name] = startLoadEvery(ctx, t, c, d, "e2e.drain", false, func() int { return n }, time.Second)
	}
	endLoads := sync.OnceFunc(func() {
		for _, l := range loads {
			l.end()
		}
	})
	defer endLoads()

	// Every half second: how many pods of each StatefulSet the drain has
	// taken down at once — a pod of the node from its eviction until it
	// is ready again elsewhere, which the budget keeps to one — and, for
	// the report, how many others were not ready, and why (a probe that
	// timed out on a node that took the evicted pods, for example: the
	// budget counts them too, and waits).
	evictable := map[string]types.UID{}
	for _, name := range byNode[victim] {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		evictable[name] = p.UID
	}
	var mu sync.Mutex
	back := map[string]bool{} // an evicted pod ready again elsewhere
	mostDisrupted, mostOther := map[string]int{}, map[string]int{}
	disruptedAtMost, otherAtMost := map[string][]string{}, map[string][]string{}
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			for _, d := range dbs {
				_, why, err := c.podsDown(ctx, ns, "app="+d.Name)
				if err != nil {
					continue
				}
				pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + d.Name})
				if err != nil {
					continue
				}
				present := map[string]*corev1.Pod{}
				for i := range pods.Items {
					present[pods.Items[i].Name] = &pods.Items[i]
				}
				mu.Lock()
				var disrupted, other []string
				for name, uid := range evictable {
					if !strings.HasPrefix(name, d.Name+"-") {
						continue
					}
					p := present[name]
					switch {
					case p != nil && p.UID != uid && PodReady(p):
						back[name] = true
					case back[name]:
					case p == nil || p.DeletionTimestamp != nil || p.UID != uid:
						disrupted = append(disrupted, name)
					}
				}
				for _, line := range why {
					name, _, _ := strings.Cut(line, ":")
					if !slices.Contains(disrupted, name) {
						other = append(other, line)
					}
				}
				now := time.Now().Format(time.TimeOnly)
				if len(disrupted) > mostDisrupted[d.Name] {
					mostDisrupted[d.Name] = len(disrupted)
					disruptedAtMost[d.Name] = append(slices.Sorted(slices.Values(disrupted)), "seen at "+now)
				}
				if len(other) > mostOther[d.Name] {
					mostOther[d.Name] = len(other)
					otherAtMost[d.Name] = append(other, "seen at "+now)
				}
				mu.Unlock()
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	time.Sleep(5 * time.Second)

	start := time.Now()
	out, err := c.kubectl(ctx, "drain", victim, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=20m")
	drained := time.Now()
	if err != nil {
		close(stopWatch)
		tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, selector))
	}
	refusals := strings.Count(out, "disruption budget")
	evicted := strings.Count(out, " evicted")
	t.Logf("kubectl drain %s from %s took %s: %d pods evicted, %d evictions refused by a budget and retried\n%s",
		victim, start.Format(time.TimeOnly), drained.Sub(start).Round(time.Second), evicted, refusals, out)

	allReady := func() {
		t.Helper()
		for _, d := range dbs {
			if err := c.StatefulSetReady(ctx, ns, d.Name, 10*time.Minute, nil); err != nil {
				tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, "app="+d.Name))
			}
		}
	}
	after, err := c.nodesOfPods(ctx, ns, selector)
	if err != nil {
		t.Fatal(err)
	}
	if len(after[victim]) != 0 {
		t.Errorf("after the drain, %s still holds %v", victim, after[victim])
	}
	allReady()
	if _, err := c.kubectl(ctx, "uncordon", victim); err != nil {
		t.Fatal(err)
	}
	node, err := c.Client.CoreV1().Nodes().Get(ctx, victim, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Spec.Unschedulable {
		t.Fatalf("%s is still unschedulable after uncordon", victim)
	}
	allReady()
	if err := Poll(ctx, 5*time.Minute, "both manager replicas Ready", func() (bool, error) {
		ready, err := c.readyPods(ctx, installNS, "control-plane=controller-manager")
		return ready == 2, err
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	endLoads()
	close(stopWatch)
	<-watched
	tm.add(fmt.Sprintf("kubectl drain %s under writes, uncordon, all Ready", victim), time.Since(start))

	for _, d := range dbs {
		l := loads[d.Name]
		l.verify(ctx, t, replicas[d.Name], 5)
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, d.Name+"-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.UID != primaries[d.Name].UID || restarts(p) != restarts(primaries[d.Name]) {
			t.Errorf("%s-0 was restarted or recreated during the drain", d.Name)
		}
		mu.Lock()
		down, other := mostDisrupted[d.Name], mostOther[d.Name]
		if down > 1 {
			tm.errorf(t, "%s: the drain had %d database pods down at once; the budget allows one:\n%s",
				d.Name, down, strings.Join(disruptedAtMost[d.Name], "\n"))
		}
		if other > 0 {
			t.Logf("%s: besides the evicted pods, at most %d not ready at once:\n%s", d.Name, other, strings.Join(otherAtMost[d.Name], "\n"))
		}
		mu.Unlock()
		l.mu.Lock()
		during := countBetween(l.ackedAt, start, drained)
		fmt.Printf("\nkubectl drain %s under a write load, %s: drained in %s; at most %d pod down at once by the drain, %d others not ready at once; "+
			"%d writes acknowledged during the drain, %d in all, %d failed, lost 0; longest time %s-primary acknowledged no write %s\n",
			victim, d.Name, drained.Sub(start).Round(time.Second), down, other, during, len(l.acked), len(l.failedAt),
			d.Name, longestGap(l.ackedAt, l.started, time.Now()).Round(100*time.Millisecond))
		l.mu.Unlock()
		if during == 0 {
			t.Errorf("%s-primary acknowledged no write while %s was drained", d.Name, victim)
		}
	}
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}
