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
	// made from the template the API server stored, its database container
	// running as the image's mysql user with nothing more than it needs.
	completedPod := func(image, namespace string) *corev1.Pod {
		GinkgoHelper()
		sts := minimal(newNamespace())
		sts.Spec.Template.Spec.Containers[0].Image = image
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		user, no, yes := int64(999), false, true
		spec := sts.Spec.Template.Spec.DeepCopy()
		spec.Containers[0].SecurityContext = &corev1.SecurityContext{
			RunAsUser: &user, RunAsNonRoot: &yes, AllowPrivilegeEscalation: &no,
			Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
		spec.Volumes = append(spec.Volumes[:0:0], spec.Volumes...)
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "mysql-0", Namespace: namespace}, Spec: *spec}
	}

	DescribeTable("admits or refuses by level",
		func(image string, restricted bool) {
			Expect(k8sClient.Create(ctx, completedPod(image, levelNamespace("baseline")))).To(Succeed())
			err := k8sClient.Create(ctx, completedPod(image, levelNamespace("restricted")))
			if restricted {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
			Expect(err.Error()).To(ContainSubstring("violates PodSecurity \"restricted"))
			Expect(err.Error()).To(ContainSubstring("clone-mysql"))
		},
		Entry("mysql:8.4 reaches restricted", "mysql:8.4", true),
		Entry("mariadb:11.4 reaches restricted", "mariadb:11.4", true),
		Entry("mysql:5.7 reaches baseline: the xtrabackup image runs as root", "mysql:5.7", false),
	)
})
