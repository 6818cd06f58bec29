// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package plan

import (
	"bytes"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	r61ddb15 "github.com/mysql-replication-webhook/mysql-replication-webhook/internal/legacy/r61ddb15/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/fixtures"
)

func minimal(t *testing.T) *appsv1.StatefulSet {
	t.Helper()
	var sts appsv1.StatefulSet
	if err := yaml.UnmarshalStrict(fixtures.Minimal(), &sts); err != nil {
		t.Fatal(err)
	}
	sts.Namespace = "db"
	return &sts
}

func TestOf(t *testing.T) {
	plain := minimal(t)
	now, err := mutate.DefaultConfig().Inject(plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	then, err := r61ddb15.DefaultConfig().Inject(plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	edited := then.StatefulSet.DeepCopy()
	edited.Spec.Template.Spec.Containers[1].Command[2] += "# the user's line\n"
	unlabeled := plain.DeepCopy()
	delete(unlabeled.Labels, contract.EnabledLabel)
	badUpgrade := now.StatefulSet.DeepCopy()
	badUpgrade.Annotations[contract.MaxLagAnnotation] = "soon"

	tests := map[string]struct {
		sts       *appsv1.StatefulSet
		state     string
		notes     []string
		diffHolds []string
	}{
		"completed by this release": {sts: now.StatefulSet, state: UpToDate},
		"completed by release 61ddb15": {
			sts: then.StatefulSet, state: Waits,
			notes:     []string{`brought the webhook's container "xtrabackup"`, `added the webhook's startupProbe of container "mysql"`},
			diffHolds: []string{"--- db/mysql spec.template (stored)", "+++ db/mysql spec.template (mysql-replication.io/upgrade=now)", "+  affinity:", "-      initialDelaySeconds: 30"},
		},
		"completed by release 61ddb15, the sidecar edited since": {
			sts: edited, state: Waits,
			notes: []string{`kept your container "xtrabackup" as written`, `brought the webhook's init container "clone-mysql"`},
		},
		"not labeled":            {sts: unlabeled, state: NotLabeled},
		"labeled, not completed": {sts: plain, state: NotDone},
		"stored with an annotation the webhook denies": {sts: badUpgrade, state: Denied, notes: []string{contract.MaxLagAnnotation}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := Of(mutate.DefaultConfig(), tc.sts)
			if o.State != tc.state {
				t.Fatalf("state %q, want %q (notes %q)", o.State, tc.state, o.Notes)
			}
			for _, n := range tc.notes {
				if !strings.Contains(strings.Join(o.Notes, "\n"), n) {
					t.Errorf("no note with %q in %q", n, o.Notes)
				}
			}
			for _, d := range tc.diffHolds {
				if !strings.Contains(o.Diff, d) {
					t.Errorf("the diff has no %q:\n%s", d, o.Diff)
				}
			}
			if (o.Diff == "") != (tc.state != Waits) {
				t.Errorf("state %s with diff %q", o.State, o.Diff)
			}
		})
	}
}

func TestReadAndWrite(t *testing.T) {
	plain := minimal(t)
	then, err := r61ddb15.DefaultConfig().Inject(plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored := then.StatefulSet
	stored.APIVersion, stored.Kind = "apps/v1", "StatefulSet"
	item, err := yaml.Marshal(stored)
	if err != nil {
		t.Fatal(err)
	}
	list := "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(string(item)), "\n", "\n  ") + "\n"
	input := list + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n"
	stss, err := Read(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if len(stss) != 1 || stss[0].Name != "mysql" {
		t.Fatalf("read %d StatefulSets, want mysql alone", len(stss))
	}
	var out bytes.Buffer
	if err := Write(&out, []Outcome{Of(mutate.DefaultConfig(), &stss[0])}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"db/mysql: upgrade waits\n", "# upgrade with: kubectl annotate statefulset -n db mysql mysql-replication.io/upgrade=now",
		"1 of 1 StatefulSets wait for an upgrade to release " + contract.Release} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output has no %q:\n%s", want, out.String())
		}
	}
	if _, err := Read(strings.NewReader("kind: StatefulSet\nspec: {replicas: nope}\n")); err == nil {
		t.Error("a StatefulSet that does not decode was read")
	}
}

func TestAdoption(t *testing.T) {
	single := func(mount corev1.VolumeMount, env ...corev1.EnvVar) *appsv1.StatefulSet {
		sts := minimal(t)
		delete(sts.Labels, contract.EnabledLabel)
		sts.UID = "stored"
		sts.Spec.Replicas = ptr.To[int32](1)
		db := &sts.Spec.Template.Spec.Containers[0]
		db.Image = "mysql:9.7"
		db.Env = env
		db.VolumeMounts = []corev1.VolumeMount{mount}
		sts.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}
		return sts
	}
	fromSecret := corev1.EnvVar{Name: "MYSQL_ROOT_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "root"}, Key: "password"}}}
	inPlace := corev1.VolumeMount{Name: "data", MountPath: "/var/lib/mysql", SubPath: "mysql"}
	atRoot := corev1.VolumeMount{Name: "data", MountPath: "/var/lib/mysql"}
	noClaim := single(inPlace, fromSecret)
	noClaim.Spec.VolumeClaimTemplates = nil
	completed, err := mutate.DefaultConfig().Inject(minimal(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		sts   *appsv1.StatefulSet
		state string
		note  string
	}{
		"its data in the directory mysql of its claim": {sts: single(inPlace, fromSecret), state: Adoptable},
		"its data at the root of its claim":            {sts: single(atRoot, fromSecret), state: Adoptable, note: "moves a data directory it finds at the volume's root"},
		"its data elsewhere on its claim": {
			sts:   single(corev1.VolumeMount{Name: "data", MountPath: "/bitnami/mysql"}, fromSecret),
			state: NotAdoptable, note: "starts empty",
		},
		"no data claim": {sts: noClaim, state: NotAdoptable, note: `no "data" volumeClaimTemplate`},
		"a random root password": {
			sts:   single(inPlace, corev1.EnvVar{Name: "MYSQL_RANDOM_ROOT_PASSWORD", Value: "yes"}),
			state: NotAdoptable, note: "hides the root password",
		},
		"completed by the webhook": {sts: completed.StatefulSet, state: Completed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := Adoption(mutate.DefaultConfig(), tc.sts)
			if o.State != tc.state || !strings.Contains(strings.Join(o.Notes, "\n"), tc.note) {
				t.Fatalf("%s, %q; want %s with %q", o.State, o.Notes, tc.state, tc.note)
			}
			if (o.Diff != "") != (tc.state == Adoptable) {
				t.Errorf("state %s with diff %q", o.State, o.Diff)
			}
		})
	}
}
