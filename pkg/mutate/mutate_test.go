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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

func plain(name string, containers ...corev1.Container) *appsv1.StatefulSet {
	if len(containers) == 0 {
		containers = []corev1.Container{{Name: "mysql", Image: "mysql:5.7"}}
	}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{contract.EnabledLabel: contract.EnabledValue}},
		Spec: appsv1.StatefulSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}},
				Spec:       corev1.PodSpec{Containers: containers},
			},
		},
	}
}

// injected is sts as the webhook stored it.
func injected(sts *appsv1.StatefulSet) *appsv1.StatefulSet {
	r, err := DefaultConfig().Inject(sts, nil)
	if err != nil {
		panic(err)
	}
	return r.StatefulSet
}

func TestInjectErrors(t *testing.T) {
	created := plain("db")
	created.Spec.VolumeClaimTemplates = nil
	tests := map[string]struct {
		sts     *appsv1.StatefulSet
		old     *appsv1.StatefulSet
		wantErr string
	}{
		"no name": {sts: plain(""), wantErr: "metadata.name is required"},
		"two containers, none named mysql": {
			sts:     plain("db", corev1.Container{Name: "a", Image: "mysql"}, corev1.Container{Name: "b", Image: "busybox"}),
			wantErr: `none is named "mysql"`,
		},
		"no container": {
			sts:     plain("db", corev1.Container{Name: contract.SidecarContainer, Image: "x"}),
			wantErr: "has no database container",
		},
		"bad flavor annotation": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Annotations = map[string]string{contract.FlavorAnnotation: "postgres"}
				return s
			}(),
			wantErr: `use "mysql" or "mariadb"`,
		},
		"name unusable in scripts": {sts: plain("DB;rm -rf /"), wantErr: "cannot name pods"},
		"unsafe service name": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Spec.ServiceName = "x$(reboot)"
				return s
			}(),
			wantErr: "cannot name the headless Service",
		},
		"service name with a dot": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Spec.ServiceName = "db.headless"
				return s
			}(),
			wantErr: `spec.serviceName "db.headless" cannot name the headless Service`,
		},
		"name too long for the revision label": {
			sts:     plain(strings.Repeat("a", MaxNameLength+1)),
			wantErr: "at most 52",
		},
		"ordinals not starting at 0": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 1}
				return s
			}(),
			wantErr: "spec.ordinals.start is 1",
		},
		"root password maybe in envFrom": {
			sts: plain("db", corev1.Container{Name: "mysql", Image: "mysql:8.4", EnvFrom: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db-env"}}}}}),
			wantErr: "takes variables from envFrom",
		},
		"a data volume every pod would share": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: contract.DataVolume, VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "shared"}}}}
				return s
			}(),
			wantErr: "every pod of StatefulSet \"db\" shares",
		},
		"tutorial mode with the stream helper": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db", corev1.Container{Name: "mysql", Image: "mariadb:11.4"})
				s.Annotations = map[string]string{contract.InsecureTutorialAnnotation: "true"}
				return s
			}(),
			wantErr: "for the tutorial's MySQL 5.7 only",
		},
		"tutorial annotation typo": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Annotations = map[string]string{contract.InsecureTutorialAnnotation: "yes"}
				return s
			}(),
			wantErr: `use "true" or remove it`,
		},
		"client namespaces that are no names": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Annotations = map[string]string{contract.ClientNamespacesAnnotation: "web,*"}
				return s
			}(),
			wantErr: `annotation mysql-replication.io/client-namespaces="web,*": "*" is not a namespace name`,
		},
		"root password the scripts cannot read": {
			sts:     plain("db", corev1.Container{Name: "mysql", Image: "mysql:8", Env: []corev1.EnvVar{{Name: "MYSQL_RANDOM_ROOT_PASSWORD", Value: "yes"}}}),
			wantErr: "hides the root password",
		},
		"private image, nothing stated": {
			sts:     plain("db", corev1.Container{Name: "mysql", Image: "registry.corp/db:v3"}),
			wantErr: `name the server with annotations mysql-replication.io/flavor ("mysql" or "mariadb") and mysql-replication.io/server-version`,
		},
		"digest without a stated version": {
			sts:     plain("db", corev1.Container{Name: "mysql", Image: "mysql@sha256:0123"}),
			wantErr: "state it with annotation mysql-replication.io/server-version",
		},
		"bad stated version": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db", corev1.Container{Name: "mysql", Image: "mysql@sha256:0123"})
				s.Annotations = map[string]string{contract.ServerVersionAnnotation: "eight"}
				return s
			}(),
			wantErr: "annotation mysql-replication.io/flavor or mysql-replication.io/server-version",
		},
		"MySQL 8.0 before 8.0.23": {
			sts:     plain("db", corev1.Container{Name: "mysql", Image: "mysql:8.0.22"}),
			wantErr: "supported: MySQL 5.7, MySQL 8.0.23 and later (8.4 LTS, 9.x), MariaDB 10.5 and later",
		},
		"5.7 to 8.4 on UPDATE": {
			sts:     plain("db", corev1.Container{Name: "mysql", Image: "mysql:8.4"}),
			old:     injected(plain("db")),
			wantErr: `runs the mysql-5.7 profile and this change moves it to mysql-8`,
		},
		"MySQL to MariaDB on UPDATE": {
			sts:     plain("db", corev1.Container{Name: "mysql", Image: "mariadb:11.4"}),
			old:     injected(plain("db", corev1.Container{Name: "mysql", Image: "mysql:9.7"})),
			wantErr: `see "Upgrades" in the README`,
		},
		"a resource annotation that is no quantity": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Annotations = map[string]string{contract.ResourceAnnotation(contract.SidecarContainer, "memory", "limit"): "2GB"}
				return s
			}(),
			wantErr: `annotation mysql-replication.io/xtrabackup-memory-limit: "2GB" is not a positive quantity`,
		},
		"a request above its limit": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Annotations = map[string]string{contract.ResourceAnnotation(contract.CloneMySQLContainer, "memory", "request"): "4Gi"}
				return s
			}(),
			wantErr: "container clone-mysql: its memory request 4Gi is above its limit 1Gi",
		},
		"a lag limit that is no number of seconds": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Annotations = map[string]string{contract.MaxLagAnnotation: "1m"}
				return s
			}(),
			wantErr: `annotation mysql-replication.io/max-lag-seconds: "1m" is not a whole number of seconds from 1 to 604800`,
		},
		"a reconnect grace of 0": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Annotations = map[string]string{contract.ReconnectGraceAnnotation: "0"}
				return s
			}(),
			wantErr: `annotation mysql-replication.io/reconnect-grace-seconds: "0" is not a whole number of seconds from 1 to 3600`,
		},
		"a metrics annotation that is no boolean": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Annotations = map[string]string{contract.MetricsAnnotation: "yes"}
				return s
			}(),
			wantErr: `annotation mysql-replication.io/metrics="yes": use "true" or "false"`,
		},
		"metrics with the tutorial's credentials": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Annotations = map[string]string{contract.MetricsAnnotation: "true", contract.InsecureTutorialAnnotation: "true"}
				return s
			}(),
			wantErr: "the exporter's user needs the credentials Secret",
		},
		"labeled after creation without a data claim": {
			sts: plain("db"), old: created,
			wantErr: "volumeClaimTemplates cannot change after creation",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := tc.sts.DeepCopy()
			res, err := DefaultConfig().Inject(tc.sts, tc.old)
			var inputErr *InputError
			if !errors.As(err, &inputErr) {
				t.Fatalf("want an InputError, got %v", err)
			}
			if !slices.Contains(Reasons(), inputErr.Reason()) {
				t.Errorf("reason %q is none of Reasons()", inputErr.Reason())
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
			if res != nil {
				t.Errorf("a result came with the error")
			}
			if tc.sts.String() != before.String() {
				t.Errorf("the input was changed")
			}
		})
	}
}

func TestInjectChoices(t *testing.T) {
	tests := map[string]struct {
		sts   *appsv1.StatefulSet
		old   *appsv1.StatefulSet
		check func(t *testing.T, r *Result)
	}{
		"single container of another name is completed": {
			sts: plain("db", corev1.Container{Name: "database", Image: "mysql:8"}),
			check: func(t *testing.T, r *Result) {
				c := r.StatefulSet.Spec.Template.Spec.Containers[0]
				if c.Name != "database" || c.ReadinessProbe == nil || len(c.Ports) != 1 {
					t.Errorf("container not completed: %+v", c)
				}
			},
		},
		"an upgrade within a profile goes through, the injected containers follow": {
			sts: func() *appsv1.StatefulSet {
				s := injected(plain("db", corev1.Container{Name: "mysql", Image: "mysql:8.4"}))
				s.Spec.Template.Spec.Containers[0].Image = "mysql:9.7"
				return s
			}(),
			old: injected(plain("db", corev1.Container{Name: "mysql", Image: "mysql:8.4"})),
			check: func(t *testing.T, r *Result) {
				spec := r.StatefulSet.Spec.Template.Spec
				for _, c := range append(spec.InitContainers, spec.Containers...) {
					if c.Image != "mysql:9.7" {
						t.Errorf("%s runs %q", c.Name, c.Image)
					}
				}
				if len(r.Warnings) != 0 {
					t.Errorf("warnings: %v", r.Warnings)
				}
			},
		},
		"a clone's temporary server reads the pod's option files, the user's among them": {
			sts: plain("db", corev1.Container{Name: "mysql", Image: "mysql:8.4", VolumeMounts: []corev1.VolumeMount{
				{Name: "local-cnf", MountPath: "/etc/mysql/conf.d/zz-local.cnf", SubPath: "zz-local.cnf"},
				{Name: "certs", MountPath: contract.TLSDir},
				{Name: "logs", MountPath: "/var/log/mysql"},
				{Name: "site", MountPath: "/etc/my.cnf"},
			}}),
			check: func(t *testing.T, r *Result) {
				var clone corev1.Container
				for _, c := range r.StatefulSet.Spec.Template.Spec.InitContainers {
					if c.Name == contract.CloneMySQLContainer {
						clone = c
					}
				}
				got := map[string]corev1.VolumeMount{}
				for _, m := range clone.VolumeMounts {
					if _, dup := got[m.MountPath]; dup {
						t.Errorf("two mounts at %s", m.MountPath)
					}
					got[m.MountPath] = m
				}
				for mountPath, volume := range map[string]string{
					contract.ConfDir: contract.ConfVolume, "/etc/mysql/conf.d/zz-local.cnf": "local-cnf", "/etc/my.cnf": "site",
					contract.TLSDir: contract.TLSVolume,
				} {
					if m, ok := got[mountPath]; !ok || m.Name != volume || !m.ReadOnly {
						t.Errorf("clone-mysql mounts %+v at %s, want %s read-only", m, mountPath, volume)
					}
				}
				if got["/etc/mysql/conf.d/zz-local.cnf"].SubPath != "zz-local.cnf" {
					t.Errorf("the user's subPath is lost: %+v", got["/etc/mysql/conf.d/zz-local.cnf"])
				}
				if _, ok := got["/var/log/mysql"]; ok {
					t.Error("clone-mysql mounts what holds no option files")
				}
			},
		},
		"a digest with a stated version": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db", corev1.Container{Name: "mysql", Image: "mysql@sha256:0123"})
				s.Annotations = map[string]string{contract.ServerVersionAnnotation: "8.4.3"}
				return s
			}(),
			check: func(t *testing.T, r *Result) {
				spec := r.StatefulSet.Spec.Template.Spec
				for _, c := range append(spec.InitContainers, spec.Containers...) {
					if c.Image != "mysql@sha256:0123" {
						t.Errorf("%s runs %q, not the database image", c.Name, c.Image)
					}
				}
			},
		},
		"service name defaults to the name": {
			sts: plain("db"),
			check: func(t *testing.T, r *Result) {
				if r.StatefulSet.Spec.ServiceName != "db" {
					t.Errorf("serviceName %q", r.StatefulSet.Spec.ServiceName)
				}
			},
		},
		"service name kept from the stored object on update": {
			sts: plain("db"),
			old: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Spec.ServiceName = "db-hl"
				s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{defaultDataClaim()}
				return s
			}(),
			check: func(t *testing.T, r *Result) {
				if r.StatefulSet.Spec.ServiceName != "db-hl" {
					t.Errorf("serviceName %q", r.StatefulSet.Spec.ServiceName)
				}
			},
		},
		"stored data claim kept on update": {
			sts: plain("db"),
			old: func() *appsv1.StatefulSet {
				s := plain("db")
				claim := defaultDataClaim()
				sc := "fast"
				claim.Spec.StorageClassName = &sc
				s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{claim}
				return s
			}(),
			check: func(t *testing.T, r *Result) {
				claims := r.StatefulSet.Spec.VolumeClaimTemplates
				if len(claims) != 1 || claims[0].Spec.StorageClassName == nil || *claims[0].Spec.StorageClassName != "fast" {
					t.Errorf("claims %+v", claims)
				}
			},
		},
		"a data pod volume needs no claim": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db")
				s.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: contract.DataVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
				return s
			}(),
			check: func(t *testing.T, r *Result) {
				if len(r.StatefulSet.Spec.VolumeClaimTemplates) != 0 {
					t.Errorf("claim added: %+v", r.StatefulSet.Spec.VolumeClaimTemplates)
				}
			},
		},
		"user's sidecar kept with a warning": {
			sts: plain("db", corev1.Container{Name: "mysql", Image: "mysql:5.7"}, corev1.Container{Name: contract.SidecarContainer, Image: "my/xtrabackup"}),
			check: func(t *testing.T, r *Result) {
				cs := r.StatefulSet.Spec.Template.Spec.Containers
				if len(cs) != 2 || cs[1].Image != "my/xtrabackup" {
					t.Errorf("containers %+v", cs)
				}
				if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], `container "xtrabackup"`) {
					t.Errorf("warnings %q", r.Warnings)
				}
			},
		},
		"probes never kill a server before it first answered, find it soon after; a busy one has 5 s to answer": {
			sts: plain("db", corev1.Container{Name: "mysql", Image: "mysql:8.4"}),
			check: func(t *testing.T, r *Result) {
				c := r.StatefulSet.Spec.Template.Spec.Containers[0]
				startup, live, ready := c.StartupProbe, c.LivenessProbe, c.ReadinessProbe
				if startup == nil || startup.Exec == nil || startup.Exec.Command[len(startup.Exec.Command)-1] != "ping" {
					t.Fatalf("startup probe %+v", startup)
				}
				if allowed := startup.PeriodSeconds * startup.FailureThreshold; allowed < 3600 {
					t.Errorf("the startup probe allows %d s, want an hour", allowed)
				}
				if startup.PeriodSeconds > 1 {
					t.Errorf("the startup probe pings every %d s: a pod is Ready up to that long after its server answers", startup.PeriodSeconds)
				}
				if live.InitialDelaySeconds != 0 || live.PeriodSeconds*live.FailureThreshold < 30 {
					t.Errorf("liveness %+v", live)
				}
				if ready.TimeoutSeconds < 5 {
					t.Errorf("readiness times out after %d s", ready.TimeoutSeconds)
				}
				if g := r.StatefulSet.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g < 300 {
					t.Errorf("termination grace period %v, want minutes", g)
				}
			},
		},
		"the API server's default grace period counts as unset": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db", corev1.Container{Name: "mysql", Image: "mysql:8.4"})
				s.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](30)
				return s
			}(),
			check: func(t *testing.T, r *Result) {
				if g := *r.StatefulSet.Spec.Template.Spec.TerminationGracePeriodSeconds; g != shutdownGrace {
					t.Errorf("termination grace period %d, want %d", g, shutdownGrace)
				}
			},
		},
		"the user's grace period and startup probe are kept": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db", corev1.Container{Name: "mysql", Image: "mysql:8.4", StartupProbe: &corev1.Probe{
					ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(3306)}},
					FailureThreshold: 1000, PeriodSeconds: 10,
				}})
				s.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1800)
				return s
			}(),
			check: func(t *testing.T, r *Result) {
				spec := r.StatefulSet.Spec.Template.Spec
				if *spec.TerminationGracePeriodSeconds != 1800 || spec.Containers[0].StartupProbe.TCPSocket == nil {
					t.Errorf("grace %d, startup probe %+v", *spec.TerminationGracePeriodSeconds, spec.Containers[0].StartupProbe)
				}
				if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "startupProbe") {
					t.Errorf("warnings %q", r.Warnings)
				}
			},
		},
		"pods prefer distinct nodes; the volumes' group is changed only on a mismatch": {
			sts: plain("db", corev1.Container{Name: "mysql", Image: "mysql:8.4"}),
			check: func(t *testing.T, r *Result) {
				spec := r.StatefulSet.Spec.Template.Spec
				if spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil {
					t.Fatalf("no pod anti-affinity: %+v", spec.Affinity)
				}
				term := spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
				if term.TopologyKey != corev1.LabelHostname || term.LabelSelector.MatchLabels[contract.StatefulSetLabel] != "db" {
					t.Errorf("anti-affinity term %+v", term)
				}
				if p := spec.SecurityContext.FSGroupChangePolicy; p == nil || *p != corev1.FSGroupChangeOnRootMismatch {
					t.Errorf("fsGroupChangePolicy %v", p)
				}
			},
		},
		"the user's placement is kept, with a warning; their node affinity gets the anti-affinity beside it": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db", corev1.Container{Name: "mysql", Image: "mysql:8.4"})
				s.Spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.ScheduleAnyway}}
				return s
			}(),
			check: func(t *testing.T, r *Result) {
				spec := r.StatefulSet.Spec.Template.Spec
				if spec.Affinity != nil || len(spec.TopologySpreadConstraints) != 1 {
					t.Errorf("affinity %+v, constraints %+v", spec.Affinity, spec.TopologySpreadConstraints)
				}
				if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "topologySpreadConstraints") {
					t.Errorf("warnings %q", r.Warnings)
				}
				withNodes := plain("db", corev1.Container{Name: "mysql", Image: "mysql:8.4"})
				withNodes.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{}}
				got := injected(withNodes).Spec.Template.Spec.Affinity
				if got.NodeAffinity == nil || got.PodAntiAffinity == nil {
					t.Errorf("with the user's node affinity: %+v", got)
				}
			},
		},
		"every injected container has requests and limits; an annotation sets one of them": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db", corev1.Container{Name: "mysql", Image: "mariadb:11.8"})
				s.Annotations = map[string]string{contract.ResourceAnnotation(contract.SidecarContainer, "memory", "limit"): "2Gi"}
				return s
			}(),
			check: func(t *testing.T, r *Result) {
				spec := r.StatefulSet.Spec.Template.Spec
				for _, c := range append(spec.InitContainers, spec.Containers[1:]...) {
					for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
						if c.Resources.Requests.Name(res, "").IsZero() || c.Resources.Limits.Name(res, "").IsZero() {
							t.Errorf("%s: no %s request or limit: %+v", c.Name, res, c.Resources)
						}
					}
				}
				side := spec.Containers[1]
				if got := side.Resources.Limits[corev1.ResourceMemory]; got.String() != "2Gi" || side.Resources.Requests.Memory().String() != "100Mi" {
					t.Errorf("sidecar resources %+v", side.Resources)
				}
			},
		},
		"the readiness of replicas follows its annotations": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db", corev1.Container{Name: "mysql", Image: "mysql:9.7"})
				s.Annotations = map[string]string{contract.MaxLagAnnotation: "15", contract.ReconnectGraceAnnotation: "45"}
				return s
			}(),
			check: func(t *testing.T, r *Result) {
				probe := strings.Join(r.StatefulSet.Spec.Template.Spec.Containers[0].ReadinessProbe.Exec.Command, " ")
				for _, want := range []string{"((lag > 15))", "((now - first < 45))"} {
					if !strings.Contains(probe, want) {
						t.Errorf("the readiness probe lacks %q", want)
					}
				}
			},
		},
		"mariadb image by digest": {
			sts: plain("db", corev1.Container{Name: "mysql", Image: "quay.io/org/mariadb:11.4@sha256:abc"}),
			check: func(t *testing.T, r *Result) {
				if got := r.StatefulSet.Spec.Template.Spec.Containers[0].LivenessProbe.Exec.Command[0]; got != "mariadb-admin" {
					t.Errorf("liveness %q", got)
				}
			},
		},
		"flavor annotation wins over the image": {
			sts: func() *appsv1.StatefulSet {
				s := plain("db", corev1.Container{Name: "mysql", Image: "registry/custom-db:1"})
				s.Annotations = map[string]string{contract.FlavorAnnotation: "mariadb", contract.ServerVersionAnnotation: "11.4"}
				return s
			}(),
			check: func(t *testing.T, r *Result) {
				if len(r.StatefulSet.Spec.Template.Spec.InitContainers) != 3 {
					t.Errorf("mariadb flavour not injected")
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := DefaultConfig().Inject(tc.sts, tc.old)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
		})
	}
}

func TestBuildCompanionsOwnerReference(t *testing.T) {
	sts := plain("db")
	sts.Namespace = "ns"
	sts.UID = "1234"
	c, err := BuildCompanions(sts)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range c.Objects() {
		refs := obj.GetOwnerReferences()
		if len(refs) != 1 || refs[0].UID != "1234" || refs[0].Kind != "StatefulSet" || refs[0].Controller == nil || !*refs[0].Controller {
			t.Errorf("%s: owner references %+v", obj.GetName(), refs)
		}
		if obj.GetNamespace() != "ns" {
			t.Errorf("%s: namespace %q", obj.GetName(), obj.GetNamespace())
		}
	}
	if c.Headless.Name != "db" || c.Read.Name != "db-read" || c.ConfigMap.Name != "db" {
		t.Errorf("names %s %s %s", c.Headless.Name, c.Read.Name, c.ConfigMap.Name)
	}
}

func TestDefaultImagesArePinned(t *testing.T) {
	cfg := DefaultConfig()
	for _, image := range []string{cfg.XtrabackupImage, cfg.HelperImage} {
		_, tag, ok := strings.Cut(image[strings.LastIndex(image, "/")+1:], ":")
		if !ok || tag == "" || tag == "latest" {
			t.Errorf("default image %q is not pinned to a version", image)
		}
	}
}

func TestInjectedContainersRunWithTheLeastTheyNeed(t *testing.T) {
	user, yes := int64(999), true
	for _, image := range []string{"mysql:5.7", "mysql:8.4", "mariadb:11.4"} {
		for _, nonRoot := range []bool{false, true} {
			db := corev1.Container{Name: "mysql", Image: image}
			if nonRoot {
				db.SecurityContext = &corev1.SecurityContext{RunAsUser: &user, RunAsNonRoot: &yes}
			}
			r, err := DefaultConfig().Inject(plain("db", db), nil)
			if err != nil {
				t.Fatal(err)
			}
			spec := r.StatefulSet.Spec.Template.Spec
			if spec.SecurityContext == nil || spec.SecurityContext.FSGroup == nil || *spec.SecurityContext.FSGroup != 999 {
				t.Errorf("%s: pod fsGroup %+v", image, spec.SecurityContext)
			}
			for _, c := range append(spec.InitContainers, spec.Containers[1:]...) {
				sc := c.SecurityContext
				if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
					len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || sc.SeccompProfile == nil {
					t.Errorf("%s/%s: security context %+v", image, c.Name, sc)
					continue
				}
				asUser := sc.RunAsNonRoot != nil && *sc.RunAsNonRoot
				switch {
				case c.Name == contract.HelperInitContainer:
					if !asUser || *sc.RunAsUser != 65532 || len(sc.Capabilities.Add) != 0 {
						t.Errorf("%s/%s: %+v", image, c.Name, sc)
					}
				case nonRoot && c.Image == image:
					if !asUser || *sc.RunAsUser != 999 || len(sc.Capabilities.Add) != 0 {
						t.Errorf("%s/%s with a non-root database: %+v", image, c.Name, sc)
					}
				default:
					// Root with only the capabilities to own files and
					// drop to the mysql user: any storage, baseline.
					if asUser || len(sc.Capabilities.Add) != 6 {
						t.Errorf("%s/%s: %+v", image, c.Name, sc)
					}
				}
			}
		}
	}
}
