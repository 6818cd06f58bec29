// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"errors"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// stored is sts as the API server keeps it: with the defaults it writes
// into the parts the webhook injects (the envtest suite checks the same
// against a real API server).
func stored(sts *appsv1.StatefulSet) *appsv1.StatefulSet {
	out := sts.DeepCopy()
	spec := &out.Spec.Template.Spec
	defaultContainer := func(c *corev1.Container) {
		if c.ImagePullPolicy == "" {
			c.ImagePullPolicy = corev1.PullIfNotPresent
		}
		if c.TerminationMessagePath == "" {
			c.TerminationMessagePath = corev1.TerminationMessagePathDefault
		}
		if c.TerminationMessagePolicy == "" {
			c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
		}
		for i := range c.Ports {
			if c.Ports[i].Protocol == "" {
				c.Ports[i].Protocol = corev1.ProtocolTCP
			}
		}
		for i := range c.Env {
			if f := c.Env[i].ValueFrom; f != nil && f.FieldRef != nil && f.FieldRef.APIVersion == "" {
				f.FieldRef.APIVersion = "v1"
			}
		}
		for _, p := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
			if p != nil && p.SuccessThreshold == 0 {
				p.SuccessThreshold = 1
			}
		}
	}
	for i := range spec.InitContainers {
		defaultContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		defaultContainer(&spec.Containers[i])
	}
	for i := range spec.Volumes {
		if cm := spec.Volumes[i].ConfigMap; cm != nil && cm.DefaultMode == nil {
			cm.DefaultMode = ptr.To(corev1.ConfigMapVolumeSourceDefaultMode)
		}
	}
	return out
}

func container(spec *corev1.PodSpec, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		if i := slices.IndexFunc(list, func(c corev1.Container) bool { return c.Name == name }); i >= 0 {
			return &list[i]
		}
	}
	return nil
}

// olderRelease is sts as a release with another sidecar script completed
// it: the sidecar's script differs, and its record says so.
func olderRelease(sts *appsv1.StatefulSet) *appsv1.StatefulSet {
	out := sts.DeepCopy()
	side := container(&out.Spec.Template.Spec, contract.SidecarContainer)
	side.Command = []string{"bash", "-c", "echo the sidecar of an older release"}
	rec := readRecord(out.Annotations)
	rec.Parts[partKey(partContainer, contract.SidecarContainer)] = partDigest(*side)
	rec.Release = "v0.1.0"
	out.Annotations[contract.InjectedPartsAnnotation] = rec.String()
	return out
}

func TestInjectRecordsWhatItInjected(t *testing.T) {
	for name, sts := range map[string]*appsv1.StatefulSet{
		"mysql 5.7": plain("db"),
		"mariadb":   plain("db", corev1.Container{Name: "mariadb", Image: "mariadb:11.8"}),
		"mysql 9.7 with metrics": func() *appsv1.StatefulSet {
			s := plain("db", corev1.Container{Name: "mysql", Image: "mysql:9.7"})
			s.Annotations = map[string]string{contract.MetricsAnnotation: "true"}
			return s
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			out := stored(injected(sts))
			rec := readRecord(out.Annotations)
			if rec == nil || rec.Release != contract.Release {
				t.Fatalf("record %q, want one of release %s", out.Annotations[contract.InjectedPartsAnnotation], contract.Release)
			}
			spec := out.Spec.Template.Spec
			want := map[string]string{}
			for _, c := range spec.InitContainers {
				want[partKey(partInitContainer, c.Name)] = partDigest(c)
			}
			for _, c := range spec.Containers[1:] {
				want[partKey(partContainer, c.Name)] = partDigest(c)
			}
			for _, v := range spec.Volumes {
				want[partKey(partVolume, v.Name)] = partDigest(v)
			}
			db := spec.Containers[0]
			want[probeKey(db.Name, "startupProbe")] = partDigest(db.StartupProbe)
			want[probeKey(db.Name, "livenessProbe")] = partDigest(db.LivenessProbe)
			want[probeKey(db.Name, "readinessProbe")] = partDigest(db.ReadinessProbe)
			if d := DriftedParts(out); d == nil || len(d) != 0 {
				t.Errorf("DriftedParts = %v, want none", d)
			}
			if !equality.Semantic.DeepEqual(rec.Parts, want) {
				t.Errorf("the record's digests are not those of the parts as stored:\nrecord %v\nstored %v", rec.Parts, want)
			}
		})
	}
}

func TestUpgradeOnlyOnTheOwnersStep(t *testing.T) {
	current := injected(plain("db"))
	old := stored(olderRelease(current))
	currentSidecar := container(&current.Spec.Template.Spec, contract.SidecarContainer).Command

	tests := map[string]struct {
		change      func(*appsv1.StatefulSet)
		wantUpgrade bool
		wantWarning string
	}{
		"a scale keeps the pods as they are": {
			change:      func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To(int32(5)) },
			wantWarning: "annotate it " + contract.UpgradeAnnotation + "=now",
		},
		"a label keeps the pods as they are": {
			change:      func(s *appsv1.StatefulSet) { s.Labels["team"] = "db" },
			wantWarning: "were left as they are",
		},
		"the upgrade annotation": {
			change:      func(s *appsv1.StatefulSet) { s.Annotations[contract.UpgradeAnnotation] = contract.UpgradeNow },
			wantUpgrade: true, wantWarning: `brought the webhook's container "xtrabackup" to release ` + contract.Release,
		},
		"a rollout restart": {
			change: func(s *appsv1.StatefulSet) {
				s.Spec.Template.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-11-30T17:00:00Z"}
			},
			wantUpgrade: true, wantWarning: "brought the webhook's",
		},
		"a new image": {
			change:      func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "mysql:5.7.44" },
			wantUpgrade: true, wantWarning: "brought the webhook's",
		},
		"a project annotation": {
			change:      func(s *appsv1.StatefulSet) { s.Annotations[contract.MaxLagAnnotation] = "30" },
			wantUpgrade: true, wantWarning: "brought the webhook's",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sts := old.DeepCopy()
			tc.change(sts)
			res, err := DefaultConfig().Inject(sts, old)
			if err != nil {
				t.Fatal(err)
			}
			out := res.StatefulSet
			side := container(&out.Spec.Template.Spec, contract.SidecarContainer)
			if upgraded := slices.Equal(side.Command[:2], currentSidecar[:2]) && side.Command[2] != "echo the sidecar of an older release"; upgraded != tc.wantUpgrade {
				t.Errorf("sidecar upgraded: %v, want %v", upgraded, tc.wantUpgrade)
			}
			if !tc.wantUpgrade && !equality.Semantic.DeepEqual(out.Spec.Template, sts.Spec.Template) {
				t.Error("the pod template changed without the owner's step: its pods would restart")
			}
			if res.Stale == tc.wantUpgrade {
				t.Errorf("Stale = %v", res.Stale)
			}
			if side.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("the sidecar's imagePullPolicy (a field the webhook does not write) is %q", side.ImagePullPolicy)
			}
			if _, ok := out.Annotations[contract.UpgradeAnnotation]; ok {
				t.Error("the upgrade annotation is still there")
			}
			if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, tc.wantWarning) }) {
				t.Errorf("no warning with %q in %q", tc.wantWarning, res.Warnings)
			}
			if tc.wantUpgrade {
				// Stored and admitted again: nothing more to do.
				again, err := DefaultConfig().Inject(stored(out), stored(out))
				if err != nil || again.Stale || !equality.Semantic.DeepEqual(again.StatefulSet, stored(out)) {
					t.Errorf("an upgraded StatefulSet is not complete: err %v, stale %v", err, again.Stale)
				}
			}
		})
	}
}

func TestUpgradeKeepsTheUsersParts(t *testing.T) {
	old := stored(olderRelease(injected(plain("db"))))
	// The user edits the injected init-mysql after the completion, and
	// adds a lifecycle hook to the webhook's sidecar.
	initMySQL := container(&old.Spec.Template.Spec, contract.InitMySQLContainer)
	initMySQL.Command = []string{"bash", "-c", "echo the user's own init"}
	hook := &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "5"}}}}
	sts := old.DeepCopy()
	sts.Annotations[contract.UpgradeAnnotation] = contract.UpgradeNow
	res, err := DefaultConfig().Inject(sts, old)
	if err != nil {
		t.Fatal(err)
	}
	if got := container(&res.StatefulSet.Spec.Template.Spec, contract.InitMySQLContainer).Command[2]; got != "echo the user's own init" {
		t.Errorf("the user's init-mysql was replaced: %.60q", got)
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, `kept your init container "init-mysql" as written`) }) {
		t.Errorf("no warning about the user's init-mysql in %q", res.Warnings)
	}

	// A user's field on the webhook's part (a field the webhook does not
	// write) is not an edit of it, and is kept when it is upgraded.
	withHook := old.DeepCopy()
	side := container(&withHook.Spec.Template.Spec, contract.SidecarContainer)
	side.Lifecycle = hook
	rec := readRecord(withHook.Annotations)
	rec.Parts[partKey(partContainer, contract.SidecarContainer)] = partDigest(*side)
	withHook.Annotations[contract.InjectedPartsAnnotation] = rec.String()
	sts = withHook.DeepCopy()
	sts.Annotations[contract.UpgradeAnnotation] = contract.UpgradeNow
	res, err = DefaultConfig().Inject(sts, withHook)
	if err != nil {
		t.Fatal(err)
	}
	side = container(&res.StatefulSet.Spec.Template.Spec, contract.SidecarContainer)
	if side.Command[2] == "echo the sidecar of an older release" || !equality.Semantic.DeepEqual(side.Lifecycle, hook) {
		t.Errorf("sidecar not upgraded with the user's lifecycle kept: %.40q, %v", side.Command[2], side.Lifecycle)
	}
}

func TestUpgradeRemovesRetiredParts(t *testing.T) {
	sts := plain("db", corev1.Container{Name: "mysql", Image: "mysql:9.7"})
	sts.Annotations = map[string]string{contract.MetricsAnnotation: "true"}
	old := stored(injected(sts))
	off := old.DeepCopy()
	delete(off.Annotations, contract.MetricsAnnotation)
	res, err := DefaultConfig().Inject(off, old)
	if err != nil {
		t.Fatal(err)
	}
	spec := res.StatefulSet.Spec.Template.Spec
	if container(&spec, contract.MetricsContainer) != nil || slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == contract.MetricsVolume }) {
		t.Error("the exporter or its volume is still there once the metrics annotation is gone")
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, `removed the webhook's container "mysqld-exporter"`) }) {
		t.Errorf("no warning about the removed exporter in %q", res.Warnings)
	}
}

func TestUpgradeAnnotationValue(t *testing.T) {
	sts := injected(plain("db"))
	sts.Annotations[contract.UpgradeAnnotation] = "yes"
	_, err := DefaultConfig().Inject(sts, sts)
	var inputErr *InputError
	if !errors.As(err, &inputErr) || inputErr.Reason() != ReasonUpgrade || !strings.Contains(err.Error(), `use "now"`) {
		t.Errorf("err = %v, want an upgrade InputError that says to use now", err)
	}
}

func TestUnreadableRecordKeepsEverything(t *testing.T) {
	old := stored(olderRelease(injected(plain("db"))))
	old.Annotations[contract.InjectedPartsAnnotation] = "{not json"
	sts := old.DeepCopy()
	sts.Annotations[contract.UpgradeAnnotation] = contract.UpgradeNow
	res, err := DefaultConfig().Inject(sts, old)
	if err != nil {
		t.Fatal(err)
	}
	if got := container(&res.StatefulSet.Spec.Template.Spec, contract.SidecarContainer).Command[2]; got != "echo the sidecar of an older release" {
		t.Error("a part was replaced though no readable record says it is the webhook's")
	}
}

func TestStaleInjection(t *testing.T) {
	current := stored(injected(plain("db")))
	if DefaultConfig().StaleInjection(current) {
		t.Error("a StatefulSet this release completed is stale")
	}
	if !DefaultConfig().StaleInjection(stored(olderRelease(current))) {
		t.Error("a StatefulSet with an older release's sidecar is not stale")
	}
	if DefaultConfig().StaleInjection(plain("db")) {
		t.Error("a StatefulSet the webhook never completed is stale")
	}
}

func TestDataLayout(t *testing.T) {
	withMount := func(m corev1.VolumeMount) *appsv1.StatefulSet {
		return plain("db", corev1.Container{Name: "mysql", Image: "mysql:9.7", VolumeMounts: []corev1.VolumeMount{m}})
	}
	tests := map[string]struct {
		mount   corev1.VolumeMount
		wantErr string
		// wantMoved: the mount becomes the webhook's, with a warning
		// that the data directory is moved.
		wantMoved bool
	}{
		"the webhook's own layout":         {mount: corev1.VolumeMount{Name: "data", MountPath: "/var/lib/mysql", SubPath: "mysql"}},
		"another volume elsewhere":         {mount: corev1.VolumeMount{Name: "logs", MountPath: "/var/log/mysql"}},
		"the volume's root at the datadir": {mount: corev1.VolumeMount{Name: "data", MountPath: "/var/lib/mysql"}, wantMoved: true},
		"the volume's root, path unclean":  {mount: corev1.VolumeMount{Name: "data", MountPath: "/var/lib/mysql/"}, wantMoved: true},
		"a subPathExpr":                    {mount: corev1.VolumeMount{Name: "data", MountPath: "/var/lib/mysql", SubPathExpr: "$(POD_NAME)"}, wantErr: `(subPath "$(POD_NAME)")`},
		"another subPath":                  {mount: corev1.VolumeMount{Name: "data", MountPath: "/var/lib/mysql/", SubPath: "db"}, wantErr: `(subPath "db")`},
		"Bitnami's path":                   {mount: corev1.VolumeMount{Name: "data", MountPath: "/bitnami/mysql"}, wantErr: "at /bitnami/mysql"},
		"another volume at the datadir":    {mount: corev1.VolumeMount{Name: "disk", MountPath: "/var/lib/mysql"}, wantErr: `mounts volume "disk"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := DefaultConfig().Inject(withMount(tc.mount), nil)
			var inputErr *InputError
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("denied: %v", err)
			case tc.wantErr != "" && (!errors.As(err, &inputErr) || inputErr.Reason() != ReasonVolumes || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want a volumes InputError with %q", err, tc.wantErr)
			case tc.wantErr != "":
				return
			}
			mounts := res.StatefulSet.Spec.Template.Spec.Containers[0].VolumeMounts
			moved := slices.ContainsFunc(res.Warnings, func(w string) bool {
				return strings.Contains(w, "moves a data directory it finds at the volume's root")
			})
			if tc.wantMoved && (mounts[0].SubPath != "mysql" || !moved) || !tc.wantMoved && moved {
				t.Errorf("mount %+v, warnings %q", mounts[0], res.Warnings)
			}
			again, err := DefaultConfig().Inject(res.StatefulSet.DeepCopy(), nil)
			if err != nil || !equality.Semantic.DeepEqual(again.StatefulSet, res.StatefulSet) {
				t.Errorf("not idempotent: %v", err)
			}
		})
	}

	// A StatefulSet completed before keeps its mounts, with a warning.
	old := stored(injected(plain("db", corev1.Container{Name: "mysql", Image: "mysql:9.7"})))
	old.Spec.Template.Spec.Containers[0].VolumeMounts[0] = corev1.VolumeMount{Name: "data", MountPath: "/var/lib/mysql"}
	sts := old.DeepCopy()
	sts.Spec.Replicas = ptr.To(int32(4))
	res, err := DefaultConfig().Inject(sts, old)
	if err != nil || !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "starts empty") }) {
		t.Errorf("a completed StatefulSet with its own data mount: err %v, warnings %q", err, res.Warnings)
	}
}

func TestAdoption(t *testing.T) {
	running := func(replicas *int32) *appsv1.StatefulSet {
		s := plain("db", corev1.Container{Name: "mysql", Image: "mysql:9.7"})
		delete(s.Labels, contract.EnabledLabel)
		s.Spec.Replicas = replicas
		s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{defaultDataClaim()}
		return s
	}
	tests := map[string]struct {
		old      *int32 // the stored StatefulSet's replicas, not completed
		want     int32
		wantErr  string
		complete bool
		image    string // the database image this change sets
	}{
		"one server, labeled as it is":             {old: ptr.To[int32](1), want: 1},
		"one server (replicas unset), labeled":     {old: nil, want: 1},
		"one server, labeled and scaled at once":   {old: ptr.To[int32](1), want: 3, wantErr: "label it with replicas unchanged"},
		"three servers, labeled":                   {old: ptr.To[int32](3), want: 3, wantErr: "only a single server can be adopted"},
		"three servers, labeled and scaled to one": {old: ptr.To[int32](3), want: 1},
		"no server running, labeled and scaled":    {old: ptr.To[int32](0), want: 3},
		"completed before, scaled":                 {old: ptr.To[int32](1), want: 3, complete: true},
		"one server, labeled with another image":   {old: ptr.To[int32](1), want: 1, image: "mariadb:11.8", wantErr: "its data directory was written by mysql:9.7"},
		"no server running, another image":         {old: ptr.To[int32](0), want: 1, image: "mariadb:11.8"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			old := running(tc.old)
			if tc.complete {
				old = stored(injected(plain("db", corev1.Container{Name: "mysql", Image: "mysql:9.7"})))
				old.Spec.Replicas = tc.old
			}
			sts := old.DeepCopy()
			if sts.Labels == nil {
				sts.Labels = map[string]string{}
			}
			sts.Labels[contract.EnabledLabel] = contract.EnabledValue
			sts.Spec.Replicas = ptr.To(tc.want)
			if tc.image != "" {
				sts.Spec.Template.Spec.Containers[0].Image = tc.image
			}
			_, err := DefaultConfig().Inject(sts, old)
			var inputErr *InputError
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("denied: %v", err)
			case tc.wantErr != "" && (!errors.As(err, &inputErr) || inputErr.Reason() != ReasonAdoption || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want an adoption InputError with %q", err, tc.wantErr)
			}
		})
	}
}
