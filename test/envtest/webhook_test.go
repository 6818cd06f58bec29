// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/fixtures"
)

// minimal reads the sample a user writes, in the given namespace.
func minimal(namespace string) *appsv1.StatefulSet {
	GinkgoHelper()
	var sts appsv1.StatefulSet
	Expect(yaml.UnmarshalStrict(fixtures.Minimal(), &sts)).To(Succeed())
	sts.Namespace = namespace
	return &sts
}

func names[T any](items []T, name func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, name(it))
	}
	return out
}

func containerNames(cs []corev1.Container) []string {
	return names(cs, func(c corev1.Container) string { return c.Name })
}

func get(obj client.Object) client.Object {
	GinkgoHelper()
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	return obj
}

var _ = Describe("the mutating webhook", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("stores the tutorial's StatefulSet for the minimal sample", func() {
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)

		spec := sts.Spec.Template.Spec
		Expect(sts.Annotations).To(HaveKeyWithValue(contract.InjectorVersionAnnotation, contract.InjectorVersion))
		Expect(containerNames(spec.InitContainers)).To(Equal([]string{"init-mysql", "clone-mysql"}))
		Expect(containerNames(spec.Containers)).To(Equal([]string{"mysql", "xtrabackup"}))
		Expect(names(spec.Volumes, func(v corev1.Volume) string { return v.Name })).To(Equal([]string{"conf", "config-map", "initialized"}))
		Expect(spec.Volumes[0].EmptyDir).NotTo(BeNil())
		Expect(spec.Volumes[1].ConfigMap.Name).To(Equal("mysql"))
		Expect(spec.Volumes[2].ConfigMap.Name).To(Equal("mysql-initialized"))
		Expect(*spec.Volumes[2].ConfigMap.Optional).To(BeTrue())

		Expect(spec.InitContainers[0].Image).To(Equal("mysql:5.7"))
		Expect(spec.InitContainers[1].Image).To(Equal("gcr.io/google-samples/xtrabackup:1.0"))
		Expect(spec.InitContainers[1].Command[2]).To(ContainSubstring(`source_host=$(pod_host $((ordinal - 1)))`))
		Expect(spec.InitContainers[1].Command[2]).To(ContainSubstring(`"mysql-$1.mysql.$namespace.svc.cluster.local."`))

		db := spec.Containers[0]
		Expect(db.Env).To(ContainElement(And(HaveField("Name", "MYSQL_ROOT_PASSWORD"),
			HaveField("ValueFrom.SecretKeyRef.Name", "mysql-credentials"), HaveField("ValueFrom.SecretKeyRef.Key", "root-password"))))
		Expect(db.Ports).To(ContainElement(And(HaveField("Name", "mysql"), HaveField("ContainerPort", int32(3306)))))
		Expect(db.VolumeMounts).To(ContainElements(
			corev1.VolumeMount{Name: "data", MountPath: "/var/lib/mysql", SubPath: "mysql"},
			corev1.VolumeMount{Name: "conf", MountPath: "/etc/mysql/conf.d"},
		))
		Expect(db.Resources.Requests.Cpu().Equal(resource.MustParse("500m"))).To(BeTrue())
		Expect(db.Resources.Requests.Memory().Equal(resource.MustParse("1Gi"))).To(BeTrue())
		Expect(db.LivenessProbe.Exec.Command).To(Equal([]string{"mysqladmin", "--defaults-extra-file=/etc/mysql/conf.d/client.opt", "ping"}))
		// The startup probe allows an hour; liveness and readiness run
		// after it, with no delay of their own.
		timing := func(p *corev1.Probe) []int32 {
			return []int32{p.InitialDelaySeconds, p.PeriodSeconds, p.TimeoutSeconds, p.FailureThreshold}
		}
		Expect(db.StartupProbe.Exec.Command).To(Equal(db.LivenessProbe.Exec.Command))
		Expect(timing(db.StartupProbe)).To(Equal([]int32{0, 1, 5, 3600}))
		Expect(timing(db.LivenessProbe)).To(Equal([]int32{0, 10, 10, 6}))
		Expect(db.ReadinessProbe.Exec.Command[2]).To(ContainSubstring("Slave_SQL_Running"))
		Expect(timing(db.ReadinessProbe)).To(Equal([]int32{0, 5, 5, 3}))
		Expect(spec.TerminationGracePeriodSeconds).To(HaveValue(Equal(int64(600))), "the API server's default 30 counts as unset")
		Expect(spec.SecurityContext.FSGroupChangePolicy).To(HaveValue(Equal(corev1.FSGroupChangeOnRootMismatch)))
		Expect(spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution).To(HaveLen(1))

		side := spec.Containers[1]
		Expect(side.Ports).To(ConsistOf(And(HaveField("Name", "xtrabackup"), HaveField("ContainerPort", int32(3307)))))
		Expect(side.Resources.Requests.Cpu().Equal(resource.MustParse("100m"))).To(BeTrue())
		Expect(side.Resources.Requests.Memory().Equal(resource.MustParse("100Mi"))).To(BeTrue())
		for _, c := range append(spec.InitContainers, side) {
			Expect(c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero()).To(BeFalse(), "%s has no limits", c.Name)
		}
		Expect(side.Command[2]).To(ContainSubstring(`primary_host=$(pod_host 0)`))

		Expect(sts.Spec.VolumeClaimTemplates).To(HaveLen(1))
		claim := sts.Spec.VolumeClaimTemplates[0]
		Expect(claim.Name).To(Equal("data"))
		Expect(claim.Spec.AccessModes).To(Equal([]corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}))
		Expect(claim.Spec.Resources.Requests.Storage().Equal(resource.MustParse("10Gi"))).To(BeTrue())
	})

	It("stores the tutorial's credentials with the insecure annotation, and warns", func() {
		sts := minimal(ns)
		sts.Annotations = map[string]string{contract.InsecureTutorialAnnotation: "true"}
		warnings := createWithWarnings(sts)
		get(sts)
		db := sts.Spec.Template.Spec.Containers[0]
		Expect(names(db.Env, func(e corev1.EnvVar) string { return e.Name })).To(Equal([]string{"POD_INDEX", "MYSQL_ALLOW_EMPTY_PASSWORD"}))
		Expect(db.Env[1].Value).To(Equal("1"))
		Expect(db.LivenessProbe.Exec.Command).To(Equal([]string{"mysqladmin", "ping"}))
		Expect(db.ReadinessProbe.Exec.Command[2]).To(ContainSubstring(`exec mysql -h 127.0.0.1 -e "SELECT 1"`))
		Expect(sts.Spec.Template.Spec.Containers[1].Command[2]).To(ContainSubstring("MASTER_USER='root', MASTER_PASSWORD=''"))
		Expect(warnings.messages()).To(ContainElement(ContainSubstring("insecure")))
	})

	It("changes nothing when the plain manifest is applied again", func() {
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		stored := get(sts.DeepCopy()).(*appsv1.StatefulSet)

		again := minimal(ns)
		again.ResourceVersion = stored.ResourceVersion
		Expect(k8sClient.Update(ctx, again)).To(Succeed())
		after := get(sts.DeepCopy()).(*appsv1.StatefulSet)
		Expect(after.Generation).To(Equal(stored.Generation))
		Expect(after.Spec.Template).To(Equal(stored.Spec.Template))
		Expect(after.Spec.VolumeClaimTemplates).To(HaveLen(1))
	})

	It("leaves an unlabeled StatefulSet untouched", func() {
		sts := minimal(ns)
		sts.Labels = nil
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		Expect(sts.Spec.Template.Spec.InitContainers).To(BeEmpty())
		Expect(containerNames(sts.Spec.Template.Spec.Containers)).To(Equal([]string{"mysql"}))
		Expect(sts.Annotations).NotTo(HaveKey(contract.InjectorVersionAnnotation))
	})

	It("keeps what the user wrote and warns about it", func() {
		sts := minimal(ns)
		db := &sts.Spec.Template.Spec.Containers[0]
		db.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstrFromInt(3306)}}, PeriodSeconds: 20}
		db.Env = []corev1.EnvVar{{Name: "MYSQL_ROOT_PASSWORD", Value: "secret"}}

		warnings := createWithWarnings(sts)
		get(sts)

		db = &sts.Spec.Template.Spec.Containers[0]
		Expect(db.LivenessProbe.TCPSocket).NotTo(BeNil())
		Expect(db.LivenessProbe.Exec).To(BeNil())
		Expect(db.Env[0]).To(Equal(corev1.EnvVar{Name: "MYSQL_ROOT_PASSWORD", Value: "secret"}))
		Expect(names(db.Env, func(e corev1.EnvVar) string { return e.Name })).To(Equal([]string{"MYSQL_ROOT_PASSWORD", "POD_INDEX"}))
		Expect(db.ReadinessProbe).NotTo(BeNil())
		Expect(warnings.messages()).To(ContainElement(ContainSubstring(`kept your livenessProbe of container "mysql"`)))
	})

	It("denies a StatefulSet with no container it can complete, saying what to change", func() {
		sts := minimal(ns)
		sts.Spec.Template.Spec.Containers = []corev1.Container{{Name: "a", Image: "mysql:5.7"}, {Name: "b", Image: "busybox"}}
		err := k8sClient.Create(ctx, sts)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring(`name the database container "mysql"`))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(sts), &appsv1.StatefulSet{}))).To(BeTrue())
	})

	It("denies labeling a StatefulSet that was created without a data claim", func() {
		sts := minimal(ns)
		sts.Labels = nil
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		sts.Labels = map[string]string{contract.EnabledLabel: contract.EnabledValue}
		err := k8sClient.Update(ctx, sts)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("volumeClaimTemplates cannot change after creation"))
	})
})
