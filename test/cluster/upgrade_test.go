// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/controller"
	r61ddb15 "github.com/mysql-replication-webhook/mysql-replication-webhook/internal/legacy/r61ddb15/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/plan"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// upgradeFromRelease61ddb15 runs a MySQL 9.7 StatefulSet as release
// 61ddb15 completed it (its renderer, its companions and credentials
// Secret, as its webhook and controller made them), with a probe its owner
// edited since. The running webhook takes it over without restarting a
// pod; a label and a scale restart none either; the controller says it
// waits for an upgrade; mysql-replication.io/upgrade=now brings the
// webhook's parts to this release and keeps the owner's probe, the pods
// roll replicas first, and the rows and replication survive.
func upgradeFromRelease61ddb15(ctx context.Context, t *testing.T, c *Cluster, tm *timings) {
	const name = "legacy"
	d := DB{Name: name, Container: "mysql", Client: "mysql", CloneSkipped: "already holds a database"}
	pod := func(i int) string { return fmt.Sprintf("%s-%d", name, i) }
	sts := plain(name, MySQLImage)
	sts.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("256Mi")
	defer func() {
		_ = c.Client.AppsV1().StatefulSets(ns).Delete(ctx, name, metav1.DeleteOptions{})
		_ = c.Client.CoreV1().PersistentVolumeClaims(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=" + name})
	}()

	// 1. Release 61ddb15's completion, edited by its owner: a livenessProbe
	// with a longer timeout. Created unlabeled, so that the running
	// webhook does not see it, with the companions and the credentials
	// Secret release 61ddb15's controller made.
	then, err := r61ddb15.DefaultConfig().Inject(sts, nil)
	if err != nil {
		t.Fatal(err)
	}
	legacy := then.StatefulSet
	legacy.Spec.Template.Spec.Containers[0].LivenessProbe.TimeoutSeconds = 15
	delete(legacy.Labels, contract.EnabledLabel)
	created, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, legacy, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	companions, err := r61ddb15.BuildCompanions(created)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := r61ddb15.BuildCredentialsSecret(created, controller.RandomPassword)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range append(companions.Objects(), secret) {
		if err := createCore(ctx, c, obj); err != nil {
			t.Fatalf("release 61ddb15's %T %s: %v", obj, obj.GetName(), err)
		}
	}

	// 2. Labeled and scaled to 2: the running webhook keeps the pod
	// template as release 61ddb15 stored it.
	start := time.Now()
	labeled, err := c.Client.AppsV1().StatefulSets(ns).Patch(ctx, name, types.MergePatchType,
		fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}},"spec":{"replicas":2}}`, contract.EnabledLabel, contract.EnabledValue), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(labeled.Spec.Template, created.Spec.Template) {
		t.Fatal("labeling release 61ddb15's StatefulSet changed its pod template")
	}
	if err := c.StatefulSetReady(ctx, ns, name, 15*time.Minute, nil); err != nil {
		tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, "app="+name))
	}
	tm.add("release 61ddb15's StatefulSet labeled and scaled: 2 pods Ready", time.Since(start))
	if _, err := c.SQL(ctx, ns, d, pod(1), name+"-primary",
		"CREATE DATABASE e2e; CREATE TABLE e2e.t (id INT PRIMARY KEY, v VARCHAR(32)); INSERT INTO e2e.t VALUES (1, 'before-upgrade');"); err != nil {
		t.Fatal(err)
	}
	const query = "SELECT GROUP_CONCAT(v ORDER BY id) FROM e2e.t"
	if err := c.Eventually(ctx, ns, d, pod(1), "127.0.0.1", query, "before-upgrade"); err != nil {
		t.Fatal(err)
	}

	// 3. Neither a label nor a scale restarts a pod; the controller says
	// how to upgrade, and webhook plan what the upgrade changes.
	before := podUIDs(ctx, t, c, name)
	for _, p := range []string{`{"metadata":{"labels":{"team":"db"}}}`, `{"spec":{"replicas":2}}`} {
		if _, err := c.Client.AppsV1().StatefulSets(ns).Patch(ctx, name, types.MergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := Poll(ctx, 2*time.Minute, "the UpgradeAvailable Event", func() (bool, error) {
		events, err := c.Client.EventsV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=" + name})
		if err != nil {
			return false, err
		}
		return slices.ContainsFunc(events.Items, func(e eventsv1.Event) bool {
			return e.Reason == controller.ReasonUpgradeAvailable && strings.Contains(e.Note, contract.UpgradeAnnotation+"="+contract.UpgradeNow)
		}), nil
	}); err != nil {
		t.Fatal(err)
	}
	stored, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(stored.Spec.Template, created.Spec.Template) || stored.Status.UpdateRevision != stored.Status.CurrentRevision {
		t.Fatalf("a label and a scale changed the pod template (revisions %s, %s)", stored.Status.CurrentRevision, stored.Status.UpdateRevision)
	}
	if after := podUIDs(ctx, t, c, name); !equality.Semantic.DeepEqual(before, after) {
		t.Fatalf("pods restarted without the owner's step: %v, then %v", before, after)
	}
	planned := plan.Of(mutate.DefaultConfig(), stored)
	if planned.State != plan.Waits || !slices.ContainsFunc(planned.Notes, func(n string) bool { return strings.Contains(n, `kept your livenessProbe of container "mysql"`) }) {
		t.Fatalf("webhook plan: %s, %q", planned.State, planned.Notes)
	}
	t.Logf("a label and a scale left both pods running; UpgradeAvailable said how to upgrade; webhook plan: %q", planned.Notes)

	// 4. The owner's step: the webhook's parts are this release's, the
	// owner's probe is kept, the pods roll replicas first.
	start = time.Now()
	upgraded, err := c.Client.AppsV1().StatefulSets(ns).Patch(ctx, name, types.MergePatchType,
		fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, contract.UpgradeAnnotation, contract.UpgradeNow), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, left := upgraded.Annotations[contract.UpgradeAnnotation]; left {
		t.Error("the upgrade annotation is still on the StatefulSet")
	}
	if drifted := mutate.DriftedParts(upgraded); drifted == nil || len(drifted) != 0 {
		t.Errorf("recorded parts after the upgrade: drifted %v", drifted)
	}
	now, err := mutate.DefaultConfig().Inject(sts, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, want := upgraded.Spec.Template.Spec, now.StatefulSet.Spec.Template.Spec
	for _, part := range []string{contract.InitMySQLContainer, contract.CloneMySQLContainer, contract.SidecarContainer} {
		if !equality.Semantic.DeepEqual(commandOf(got, part), commandOf(want, part)) {
			t.Errorf("%s does not run this release's script after the upgrade", part)
		}
	}
	if !equality.Semantic.DeepEqual(got.Containers[0].ReadinessProbe.Exec, want.Containers[0].ReadinessProbe.Exec) || got.Containers[0].StartupProbe == nil {
		t.Error("the readiness and startup probes are not this release's after the upgrade")
	}
	if got.Containers[0].LivenessProbe.TimeoutSeconds != 15 {
		t.Errorf("the owner's livenessProbe was not kept: timeout %ds", got.Containers[0].LivenessProbe.TimeoutSeconds)
	}
	if err := c.StatefulSetReady(ctx, ns, name, 15*time.Minute, nil); err != nil {
		tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, "app="+name))
	}
	tm.add("release 61ddb15's StatefulSet upgraded with "+contract.UpgradeAnnotation+"=now: rolled, 2 pods Ready", time.Since(start))
	rolled := map[string]time.Time{}
	for i := range 2 {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, pod(i), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.UID == before[p.Name] {
			t.Errorf("%s was not replaced by the upgrade", p.Name)
		}
		rolled[p.Name] = p.CreationTimestamp.Time
	}
	if !rolled[pod(1)].Before(rolled[pod(0)]) {
		t.Errorf("the primary was replaced before the replica: %s at %s, %s at %s", pod(0), rolled[pod(0)], pod(1), rolled[pod(1)])
	}

	// 5. The data survived, and replication goes on.
	writeThroughPrimary(ctx, t, c, d, pod(1), "INSERT INTO e2e.t VALUES (2, 'after-upgrade')")
	for i := range 2 {
		if err := c.Eventually(ctx, ns, d, pod(i), "127.0.0.1", query, "before-upgrade,after-upgrade"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("upgraded: both pods run this release's scripts, the owner's livenessProbe (timeout 15s) is kept, %s rolled before %s, every row on both pods",
		pod(1), pod(0))
}

// podUIDs are the UIDs of a StatefulSet's pods, by name.
func podUIDs(ctx context.Context, t *testing.T, c *Cluster, name string) map[string]types.UID {
	t.Helper()
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]types.UID{}
	for _, p := range pods.Items {
		out[p.Name] = p.UID
	}
	return out
}

// commandOf is the command of a pod's container or init container.
func commandOf(spec corev1.PodSpec, container string) []string {
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		if i := slices.IndexFunc(cs, func(c corev1.Container) bool { return c.Name == container }); i >= 0 {
			return cs[i].Command
		}
	}
	return nil
}

// createCore creates a ConfigMap, Service or Secret.
func createCore(ctx context.Context, c *Cluster, obj client.Object) error {
	var err error
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		_, err = c.Client.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *corev1.Service:
		_, err = c.Client.CoreV1().Services(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	case *corev1.Secret:
		_, err = c.Client.CoreV1().Secrets(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
	default:
		err = fmt.Errorf("no client for %T", obj)
	}
	return err
}
