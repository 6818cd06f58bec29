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
	pods, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return 0, err
	}
	ready := 0
	for i := range pods.Items {
		if PodReady(&pods.Items[i]) {
			ready++
		}
	}
	return ready, nil
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
		// Writes only: two samples' readers as well would load the
		// machine's two cores more than the drain does.
		loads[d.Name] = startLoad(ctx, t, c, d, "e2e.drain", false, func() int { return n })
	}
	endLoads := sync.OnceFunc(func() {
		for _, l := range loads {
			l.end()
		}
	})
	defer endLoads()

	// The most pods of each StatefulSet down at once, seen every half second.
	var mu sync.Mutex
	mostDown := map[string]int{}
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			for _, d := range dbs {
				ready, err := c.readyPods(ctx, ns, "app="+d.Name)
				if err != nil {
					continue
				}
				mu.Lock()
				mostDown[d.Name] = max(mostDown[d.Name], replicas[d.Name]-ready)
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
	t.Logf("kubectl drain %s took %s: %d pods evicted, %d evictions refused by a budget and retried\n%s",
		victim, drained.Sub(start).Round(time.Second), evicted, refusals, out)

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
		l.verify(ctx, t, replicas[d.Name], 20)
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, d.Name+"-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.UID != primaries[d.Name].UID || restarts(p) != restarts(primaries[d.Name]) {
			t.Errorf("%s-0 was restarted or recreated during the drain", d.Name)
		}
		mu.Lock()
		down := mostDown[d.Name]
		mu.Unlock()
		if down > 1 {
			t.Errorf("%s: %d database pods were down at once during the drain; the budget allows one", d.Name, down)
		}
		l.mu.Lock()
		during := countBetween(l.ackedAt, start, drained)
		fmt.Printf("\nkubectl drain %s under a write load, %s: drained in %s; at most %d pod down at once; "+
			"%d writes acknowledged during the drain, %d in all, %d failed, lost 0; longest time %s-primary acknowledged no write %s\n",
			victim, d.Name, drained.Sub(start).Round(time.Second), down, during, len(l.acked), len(l.failedAt),
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
