// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/controller"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/plan"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// The StatefulSet release 61ddb15 completes, and upgraded later.
const legacyName = "legacy"

// legacyDB is how to talk to it.
var legacyDB = DB{Name: legacyName, Container: "mysql", Client: "mysql", CloneSkipped: "already holds a database"}

// legacyPod is the name of its pod i.
func legacyPod(i int) string { return fmt.Sprintf("%s-%d", legacyName, i) }

// legacyQuery reads its rows.
const legacyQuery = "SELECT GROUP_CONCAT(v ORDER BY id) FROM e2e.t"

// legacyStatefulSet is what its owner writes: MySQL 9.7, labeled, no pods
// yet.
func legacyStatefulSet() *appsv1.StatefulSet {
	sts := plain(legacyName, MySQLImage)
	sts.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("256Mi")
	return sts
}

// completeWithRelease61ddb15 installs release 61ddb15 as its users
// installed it (its webhook built from its commit by hack/build-release.sh
// into dir, its config/default) and lets it complete a MySQL 9.7
// StatefulSet: created labeled without pods, its livenessProbe's timeout
// then edited by its owner to 15 s, scaled to 2 Ready, a row written. It
// returns the StatefulSet as that release stored it and its pods.
func completeWithRelease61ddb15(ctx context.Context, t *testing.T, c *Cluster, dir string, tm *timings) *legacyRun {
	built, err := os.ReadFile(filepath.Join(dir, "COMMIT"))
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := os.ReadFile(filepath.Join("..", "..", "internal", "legacy", "r61ddb15", "COMMIT"))
	if err != nil {
		t.Fatal(err)
	}
	if string(built) != string(rendered) {
		t.Fatalf("%s was built from %s, internal/legacy/r61ddb15 from %s", dir, built, rendered)
	}
	start := time.Now()
	previous, err := c.InstallPreviousRelease(ctx, dir, PreviousReleaseImage)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx, previous, func(s string) { fmt.Println("  release 61ddb15: " + s) }); err != nil {
		t.Fatal(err)
	}
	tm.add("release 61ddb15 installed from its commit: 2 managers Ready", time.Since(start))

	start = time.Now()
	if _, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, legacyStatefulSet(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	edited, err := c.Client.AppsV1().StatefulSets(ns).Patch(ctx, legacyName, types.StrategicMergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"mysql","livenessProbe":{"timeoutSeconds":15}}]}}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := edited.Spec.Template.Spec.Containers[0].LivenessProbe; got == nil || got.TimeoutSeconds != 15 {
		t.Fatalf("release 61ddb15 did not keep its owner's livenessProbe: %+v", got)
	}
	if _, err := c.Client.AppsV1().StatefulSets(ns).Patch(ctx, legacyName, types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.StatefulSetReady(ctx, ns, legacyName, 15*time.Minute, nil); err != nil {
		tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, "app="+legacyName))
	}
	writeThroughPrimary(ctx, t, c, legacyDB, legacyPod(1),
		"CREATE DATABASE e2e; CREATE TABLE e2e.t (id INT PRIMARY KEY, v VARCHAR(32)); INSERT INTO e2e.t VALUES (1, 'before-upgrade')")
	if err := c.Eventually(ctx, ns, legacyDB, legacyPod(1), "127.0.0.1", legacyQuery, "before-upgrade"); err != nil {
		t.Fatal(err)
	}
	stored, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, legacyName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stored.Annotations[contract.InjectedPartsAnnotation] != "" {
		t.Fatal("release 61ddb15 wrote a record of its parts: the release installed is not 61ddb15")
	}
	tm.add("release 61ddb15's StatefulSet: 2 pods Ready, a row replicated", time.Since(start))
	return &legacyRun{stored: stored, pods: podUIDs(ctx, t, c, legacyName)}
}

// legacyRun is the StatefulSet release 61ddb15 completed, as it stored it,
// and its pods' UIDs.
type legacyRun struct {
	stored *appsv1.StatefulSet
	pods   map[string]types.UID
	// restartedByInstall says which pods this release's install
	// restarted, checked right after it (later subtests drain a node,
	// which may evict them).
	restartedByInstall []string
}

// checkInstall records the pods this release's install restarted.
func (r *legacyRun) checkInstall(ctx context.Context, t *testing.T, c *Cluster) {
	if r == nil {
		return
	}
	now := podUIDs(ctx, t, c, legacyName)
	for pod, uid := range r.pods {
		if now[pod] != uid {
			r.restartedByInstall = append(r.restartedByInstall, pod)
		}
	}
}

// upgradeFromRelease61ddb15 takes over the StatefulSet release 61ddb15
// completed (run) after this release was installed over it. This release takes it over without restarting a
// pod; a label and a scale restart none either; the controller says it
// waits for an upgrade; mysql-replication.io/upgrade=now brings the
// webhook's parts to this release and keeps the owner's probe, the pods
// roll replicas first, and the rows and replication survive.
func upgradeFromRelease61ddb15(ctx context.Context, t *testing.T, c *Cluster, tm *timings, run *legacyRun) {
	name, d, pod, query := legacyName, legacyDB, legacyPod, legacyQuery
	defer func() {
		_ = c.Client.AppsV1().StatefulSets(ns).Delete(ctx, name, metav1.DeleteOptions{})
		_ = c.Client.CoreV1().PersistentVolumeClaims(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=" + name})
	}()
	if run == nil {
		t.Fatal("release 61ddb15 completed no StatefulSet (its subtest failed or did not run: E2E_RUN='TestCluster/61ddb15' runs both)")
	}

	// 1. Neither this release's install (checked right after it), a label
	// nor a scale restarts a pod; the controller says how to upgrade, and
	// webhook plan what the upgrade changes.
	if len(run.restartedByInstall) > 0 {
		t.Errorf("this release's install restarted %v", run.restartedByInstall)
	}
	created, before := run.stored, podUIDs(ctx, t, c, name)
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
		t.Fatalf("this release's install, a label or a scale changed the pod template (revisions %s, %s)", stored.Status.CurrentRevision, stored.Status.UpdateRevision)
	}
	if after := podUIDs(ctx, t, c, name); !equality.Semantic.DeepEqual(before, after) {
		t.Fatalf("a label or a scale restarted pods: %v, then %v", before, after)
	}
	planned := plan.Of(mutate.DefaultConfig(), stored)
	if planned.State != plan.Waits || !slices.ContainsFunc(planned.Notes, func(n string) bool { return strings.Contains(n, `kept your livenessProbe of container "mysql"`) }) {
		t.Fatalf("webhook plan: %s, %q", planned.State, planned.Notes)
	}
	t.Logf("this release's install, a label and a scale left both pods running; UpgradeAvailable said how to upgrade; webhook plan: %q", planned.Notes)

	// 2. The owner's step: the webhook's parts are this release's, the
	// owner's probe is kept, the pods roll replicas first.
	start := time.Now()
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
	now, err := mutate.DefaultConfig().Inject(legacyStatefulSet(), nil)
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

	// 3. The data survived, and replication goes on.
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
