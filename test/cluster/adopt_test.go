// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// adoptSingleInstance runs one server as its owner wrote it, without the
// webhook: a StatefulSet of one pod, its root password from the owner's
// Secret, its claim mounted at /var/lib/mysql with subPath (the volume's
// root when empty). Rows are written. Labeling and scaling at once is
// denied; labeled, the running server restarts as the primary on its own
// volume (a data directory at the root moved into the directory mysql
// first); scaled to 3, the new pods clone it; every row is on every pod,
// and new writes replicate.
func adoptSingleInstance(ctx context.Context, t *testing.T, c *Cluster, tm *timings, image, client, subPath string) {
	name := "single-" + client
	if subPath == "" {
		name += "-root"
	}
	d := DB{Name: name, Container: "mysql", Client: client}
	rootVariable := map[string]string{"mysql": "MYSQL_ROOT_PASSWORD", "mariadb": "MARIADB_ROOT_PASSWORD"}[client]
	const password = "owners-root-password"
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-root", Namespace: ns}, StringData: map[string]string{"password": password}}
	sts := plain(name, image)
	delete(sts.Labels, contract.EnabledLabel)
	sts.Spec.Replicas = ptr.To[int32](1)
	db := &sts.Spec.Template.Spec.Containers[0]
	db.Resources.Requests[corev1.ResourceMemory] = resource.MustParse("256Mi")
	db.Env = []corev1.EnvVar{{Name: rootVariable, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret.Name}, Key: "password"}}}}
	db.VolumeMounts = []corev1.VolumeMount{{Name: contract.DataVolume, MountPath: contract.DataDir, SubPath: subPath}}
	sts.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: contract.DataVolume},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}}
	defer func() {
		_ = c.Client.AppsV1().StatefulSets(ns).Delete(ctx, name, metav1.DeleteOptions{})
		_ = c.Client.CoreV1().PersistentVolumeClaims(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=" + name})
		_ = c.Client.CoreV1().Secrets(ns).Delete(ctx, secret.Name, metav1.DeleteOptions{})
	}()
	if _, err := c.Client.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The owner's server, before the webhook: rows written as root.
	asRoot := func(pod, statements string) (string, error) {
		out, stderr, err := c.Exec(ctx, ns, pod, d.Container, statements, client, "-uroot", "-p"+password, "-h127.0.0.1", "-N", "-B")
		if err != nil {
			return out, fmt.Errorf("%s on %s: %w: %s", strings.TrimSpace(statements), pod, err, stderr)
		}
		return strings.TrimSpace(out), nil
	}
	const rows = "CREATE DATABASE owners; CREATE TABLE owners.t (id INT PRIMARY KEY, v VARCHAR(32)); " +
		"INSERT INTO owners.t VALUES (1, 'one'), (2, 'two'), (3, 'three');"
	if err := Poll(ctx, 5*time.Minute, name+"-0 taking writes", func() (bool, error) {
		_, err := asRoot(name+"-0", rows)
		return err == nil, err
	}); err != nil {
		tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, "app="+name))
	}
	tm.add(fmt.Sprintf("%s: the owner's single server, rows written", name), time.Since(start))

	// Labeled and scaled to 3 at once: denied, with what to do.
	patch := func(p string) error {
		_, err := c.Client.AppsV1().StatefulSets(ns).Patch(ctx, name, types.MergePatchType, []byte(p), metav1.PatchOptions{})
		return err
	}
	label := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, contract.EnabledLabel, contract.EnabledValue)
	if err := patch(fmt.Sprintf(`{"metadata":{"labels":{%q:%q}},"spec":{"replicas":3}}`, contract.EnabledLabel, contract.EnabledValue)); err == nil ||
		!strings.Contains(err.Error(), "label it with replicas unchanged") {
		t.Fatalf("labeling and scaling at once: %v", err)
	}

	// Labeled: pod 0 restarts as the primary on its own volume.
	start = time.Now()
	if err := patch(label); err != nil {
		t.Fatal(err)
	}
	if err := c.StatefulSetReady(ctx, ns, name, 15*time.Minute, nil); err != nil {
		tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, "app="+name))
	}
	tm.add(fmt.Sprintf("%s: labeled, pod 0 Ready as the primary", name), time.Since(start))
	adopted, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m := adopted.Spec.Template.Spec.Containers[0].VolumeMounts[0]; m.SubPath != contract.DataSubPath {
		t.Errorf("the database container mounts %+v after labeling", m)
	}
	log, err := c.Client.CoreV1().Pods(ns).GetLogs(name+"-0", &corev1.PodLogOptions{Container: contract.CloneMySQLContainer}).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if moved := strings.Contains(string(log), "moving it into its directory"); moved != (subPath == "") {
		t.Errorf("clone-mysql of %s-0 (data at the volume's root: %v):\n%s", name, subPath == "", log)
	}

	// Scaled to 3: the new pods clone it.
	start = time.Now()
	if err := patch(`{"spec":{"replicas":3}}`); err != nil {
		t.Fatal(err)
	}
	if err := c.StatefulSetReady(ctx, ns, name, 15*time.Minute, nil); err != nil {
		tm.fatalf(t, "%v\n%s", err, c.DescribePods(ctx, ns, "app="+name))
	}
	tm.add(fmt.Sprintf("%s: scaled to 3, all Ready", name), time.Since(start))

	const query = "SELECT GROUP_CONCAT(v ORDER BY id) FROM owners.t"
	for i := range 3 {
		if err := c.Eventually(ctx, ns, d, fmt.Sprintf("%s-%d", name, i), "127.0.0.1", query, "one,two,three"); err != nil {
			t.Fatal(err)
		}
	}
	writeThroughPrimary(ctx, t, c, d, name+"-2", "INSERT INTO owners.t VALUES (4, 'four')")
	for i := range 3 {
		if err := c.Eventually(ctx, ns, d, fmt.Sprintf("%s-%d", name, i), "127.0.0.1", query, "one,two,three,four"); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := asRoot(name+"-0", "SELECT 1"); err != nil || out != "1" {
		t.Errorf("the owner's root password no longer works on the primary: %q, %v", out, err)
	}
	t.Logf("%s adopted in place: the rows written before labeling are on all 3 pods, a new write replicated, root keeps the owner's password", name)
}
