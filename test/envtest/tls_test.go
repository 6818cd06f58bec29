// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

var _ = Describe("the pods' TLS", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	create := func(image string, annotations map[string]string) *appsv1.StatefulSet {
		GinkgoHelper()
		sts := minimal(ns)
		sts.Spec.Template.Spec.Containers[0].Image = image
		sts.Annotations = annotations
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		return sts
	}
	tlsVolume := func(sts *appsv1.StatefulSet) *corev1.Volume {
		for _, v := range sts.Spec.Template.Spec.Volumes {
			if v.Name == contract.TLSVolume {
				return &v
			}
		}
		return nil
	}
	certificate := func(name string) *cmapi.Certificate {
		GinkgoHelper()
		c := &cmapi.Certificate{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, name), c) }).WithTimeout(30 * time.Second).Should(Succeed())
		return c
	}
	absent := func(obj client.Object, name string) {
		GinkgoHelper()
		Consistently(func() bool { return apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, name), obj)) }).
			WithTimeout(2*time.Second).Should(BeTrue(), "%T %s exists", obj, name)
	}

	It("has cert-manager issue the pods' certificates from the StatefulSet's own authority, naming more pods as it grows", func() {
		sts := create("mysql:8.4", nil)
		Expect(tlsVolume(sts).Secret.SecretName).To(Equal("mysql-tls"))

		selfSigned, caIssuer := &cmapi.Issuer{}, &cmapi.Issuer{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-selfsigned"), selfSigned) }).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(selfSigned.Spec.SelfSigned).NotTo(BeNil())
		ca := certificate("mysql-ca")
		Expect(ca.Spec.IsCA).To(BeTrue())
		Expect(ca.Spec.IssuerRef.Name).To(Equal("mysql-selfsigned"))
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-ca"), caIssuer) }).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(caIssuer.Spec.CA.SecretName).To(Equal(ca.Spec.SecretName))

		pods := certificate("mysql-tls")
		Expect(pods.Spec.SecretName).To(Equal("mysql-tls"))
		Expect(pods.Spec.IssuerRef.Name).To(Equal("mysql-ca"))
		Expect(pods.Spec.Usages).To(ContainElements(cmapi.UsageServerAuth, cmapi.UsageClientAuth))
		domain := fmt.Sprintf("mysql.%s.svc.cluster.local", ns)
		Expect(pods.Spec.DNSNames).To(ContainElements("mysql-0."+domain+".", "mysql-0."+domain, "*."+domain, "mysql-15."+domain+"."))
		Expect(pods.Spec.DNSNames).NotTo(ContainElement("mysql-16." + domain + "."))
		for _, obj := range []client.Object{selfSigned, ca, caIssuer, pods} {
			Expect(obj.GetOwnerReferences()).To(ConsistOf(HaveField("UID", sts.UID)), obj.GetName())
		}

		sts.Spec.Replicas = ptr.To(int32(20))
		Expect(k8sClient.Update(ctx, sts)).To(Succeed())
		Eventually(func() []string { return certificate("mysql-tls").Spec.DNSNames }).WithTimeout(30 * time.Second).Should(ContainElement("mysql-31." + domain + "."))
	})

	It("has the issuer the user names sign them, or uses the user's Secret as it is", func() {
		byIssuer := create("mariadb:11.4", map[string]string{contract.TLSIssuerAnnotation: "ClusterIssuer/corp"})
		pods := certificate("mysql-tls")
		Expect(pods.Spec.IssuerRef.Kind).To(Equal("ClusterIssuer"))
		Expect(pods.Spec.IssuerRef.Name).To(Equal("corp"))
		absent(&cmapi.Issuer{}, "mysql-ca")
		absent(&cmapi.Certificate{}, "mysql-ca")
		Expect(tlsVolume(byIssuer).Secret.SecretName).To(Equal("mysql-tls"))

		own := minimal(ns)
		own.Name = "own"
		own.Spec.Template.Spec.Containers[0].Image = "mysql:9.7"
		own.Annotations = map[string]string{contract.TLSSecretAnnotation: "my-tls"}
		Expect(k8sClient.Create(ctx, own)).To(Succeed())
		get(own)
		Expect(tlsVolume(own).Secret.SecretName).To(Equal("my-tls"))
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "own-read"), &corev1.Service{}) }).WithTimeout(30 * time.Second).Should(Succeed())
		absent(&cmapi.Certificate{}, "own-tls")
		absent(&cmapi.Certificate{}, "my-tls")

		both := minimal(ns)
		both.Name = "both"
		both.Spec.Template.Spec.Containers[0].Image = "mysql:9.7"
		both.Annotations = map[string]string{contract.TLSSecretAnnotation: "my-tls", contract.TLSIssuerAnnotation: "corp"}
		err := k8sClient.Create(ctx, both)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("not both"))
	})

	It("is not made for MySQL 5.7, whose tutorial stream has none", func() {
		sts := create("mysql:5.7", nil)
		Expect(tlsVolume(sts)).To(BeNil())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-read"), &corev1.Service{}) }).Should(Succeed())
		absent(&cmapi.Certificate{}, "mysql-tls")
	})
})
