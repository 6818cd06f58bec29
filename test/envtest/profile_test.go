// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

var _ = Describe("server profiles", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	withImage := func(image string, annotations map[string]string) *appsv1.StatefulSet {
		sts := minimal(ns)
		sts.Spec.Template.Spec.Containers[0].Image = image
		sts.Annotations = annotations
		return sts
	}
	denied := func(sts *appsv1.StatefulSet, says string) {
		GinkgoHelper()
		err := k8sClient.Create(ctx, sts)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring(says))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(sts), &appsv1.StatefulSet{}))).To(BeTrue())
	}

	It("stores the CLONE and GTID pod for mysql:8.4", func() {
		sts := withImage("mysql:8.4", nil)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		spec := sts.Spec.Template.Spec
		Expect(containerNames(spec.InitContainers)).To(Equal([]string{"init-mysql", "clone-mysql"}))
		Expect(containerNames(spec.Containers)).To(Equal([]string{"mysql", "xtrabackup"}))
		for _, c := range append(spec.InitContainers, spec.Containers...) {
			Expect(c.Image).To(Equal("mysql:8.4"), c.Name)
		}
		Expect(spec.InitContainers[1].Command[2]).To(ContainSubstring("CLONE INSTANCE FROM"))
		Expect(spec.Containers[1].Command[2]).To(ContainSubstring("SOURCE_AUTO_POSITION=1"))
		Expect(spec.Containers[1].Ports).To(BeEmpty())
	})

	It("denies an image whose version it cannot tell, naming the annotation", func() {
		denied(withImage("mysql@sha256:"+sha, nil), contract.ServerVersionAnnotation)
	})

	It("takes the version from the annotation where the image cannot tell", func() {
		sts := withImage("mysql@sha256:"+sha, map[string]string{contract.ServerVersionAnnotation: "9.7"})
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		Expect(sts.Spec.Template.Spec.Containers[1].Command[2]).To(ContainSubstring("SOURCE_AUTO_POSITION=1"))
	})

	It("denies a private image without the server stated", func() {
		denied(withImage("registry.example.com/team/db:v3", nil), contract.FlavorAnnotation)
	})

	It("denies MySQL 8.0 before 8.0.23, saying which versions are supported", func() {
		denied(withImage("mysql:8.0.22", nil), "MySQL 8.0.23 and later")
	})

	It("denies moving a cluster to another profile and lets an upgrade within one through", func() {
		sts := withImage("mysql:8.4", nil)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)

		sts.Spec.Template.Spec.Containers[0].Image = "mysql:9.7"
		Expect(k8sClient.Update(ctx, sts)).To(Succeed())
		get(sts)
		Expect(sts.Spec.Template.Spec.InitContainers[1].Image).To(Equal("mysql:9.7"))

		for _, image := range []string{"mysql:5.7", "mariadb:11.4"} {
			changed := sts.DeepCopy()
			changed.Spec.Template.Spec.Containers[0].Image = image
			err := k8sClient.Update(ctx, changed)
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%s: %v", image, err)
			Expect(err.Error()).To(ContainSubstring(`see "Upgrades" in the README`))
		}
	})
})

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
