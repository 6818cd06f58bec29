// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The real PodSecurity admission of kube-apiserver judges pods made from the
// completed template: the injected containers reach the level each profile
// claims in the README once the user's own database container does.
var _ = Describe("pod security of the completed pod", func() {
	levelNamespace := func(level string) string {
		GinkgoHelper()
		name := fmt.Sprintf("psa-%s-%d", level, time.Now().UnixNano())
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"pod-security.kubernetes.io/enforce": level,
		}}})).To(Succeed())
		return name
	}

	// completedPod creates a StatefulSet with the image, and returns a pod
	// made from the template the API server stored; with nonRoot, the
	// user's database container runs as the image's mysql user with nothing
	// more than it needs, else as the image's root with the capabilities
	// the images' entrypoints use.
	completedPod := func(image, namespace string, nonRoot bool) *corev1.Pod {
		GinkgoHelper()
		sts := minimal(newNamespace())
		sts.Spec.Template.Spec.Containers[0].Image = image
		user, no, yes := int64(999), false, true
		sts.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{
			RunAsUser: &user, RunAsNonRoot: &yes, AllowPrivilegeEscalation: &no,
			Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
		if !nonRoot {
			sts.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: &no,
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"CHOWN", "SETUID", "SETGID", "DAC_OVERRIDE", "FOWNER"}}}
		}
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		spec := sts.Spec.Template.Spec.DeepCopy()
		spec.Volumes = append(spec.Volumes[:0:0], spec.Volumes...)
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "mysql-0", Namespace: namespace}, Spec: *spec}
	}

	DescribeTable("admits or refuses by level",
		func(image string, nonRoot, restricted bool) {
			Expect(k8sClient.Create(ctx, completedPod(image, levelNamespace("baseline"), nonRoot))).To(Succeed())
			err := k8sClient.Create(ctx, completedPod(image, levelNamespace("restricted"), nonRoot))
			if restricted {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
			Expect(err.Error()).To(ContainSubstring("violates PodSecurity \"restricted"))
			Expect(err.Error()).To(ContainSubstring("clone-mysql"))
		},
		Entry("mysql:8.4 with a non-root database container reaches restricted", "mysql:8.4", true, true),
		Entry("mariadb:11.4 with a non-root database container reaches restricted", "mariadb:11.4", true, true),
		Entry("mysql:8.4 with a root database container reaches baseline", "mysql:8.4", false, false),
		Entry("mysql:5.7 reaches baseline: the xtrabackup image runs as root", "mysql:5.7", true, false),
	)
})
