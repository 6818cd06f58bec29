// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	"encoding/json"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/controller"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/fixtures"
)

// sidecarOf is the StatefulSet's xtrabackup container.
func sidecarOf(sts *appsv1.StatefulSet) *corev1.Container {
	GinkgoHelper()
	cs := sts.Spec.Template.Spec.Containers
	i := slices.IndexFunc(cs, func(c corev1.Container) bool { return c.Name == contract.SidecarContainer })
	Expect(i).To(BeNumerically(">=", 0))
	return &cs[i]
}

var _ = Describe("the record of injected parts", func() {
	It("holds the digest of every part as the API server stores it, for every sample", func() {
		for name, raw := range fixtures.StatefulSets() {
			var sts appsv1.StatefulSet
			Expect(yaml.UnmarshalStrict(raw, &sts)).To(Succeed(), name)
			sts.Namespace = newNamespace()
			Expect(k8sClient.Create(ctx, &sts)).To(Succeed(), name)
			get(&sts)
			Expect(sts.Annotations).To(HaveKey(contract.InjectedPartsAnnotation), name)
			Expect(mutate.DriftedParts(&sts)).To(BeEmpty(), "%s: recorded parts whose stored content has another digest", name)
		}
	})

	It("brings the webhook's parts to this release only on the owner's step, and keeps the user's", func() {
		ns := newNamespace()
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		current := sidecarOf(sts).Command

		By("an older release's sidecar: the user writes it (kept as theirs), then its record says it is the webhook's")
		sidecarOf(sts).Command = []string{"bash", "-c", "echo the sidecar of an older release"}
		Expect(k8sClient.Update(ctx, sts)).To(Succeed())
		get(sts)
		Expect(sidecarOf(sts).Command[2]).To(Equal("echo the sidecar of an older release"))
		var record struct {
			Release string            `json:"release"`
			Parts   map[string]string `json:"parts"`
		}
		Expect(json.Unmarshal([]byte(sts.Annotations[contract.InjectedPartsAnnotation]), &record)).To(Succeed())
		record.Parts["container/"+contract.SidecarContainer] = mutate.PartDigest(*sidecarOf(sts))
		raw, err := json.Marshal(record)
		Expect(err).NotTo(HaveOccurred())
		sts.Annotations[contract.InjectedPartsAnnotation] = string(raw)
		Expect(k8sClient.Update(ctx, sts)).To(Succeed())
		get(sts)
		Expect(mutate.DriftedParts(sts)).To(BeEmpty())
		template := sts.Spec.Template.DeepCopy()

		By("the controller says which command brings it up to date")
		Eventually(eventsFor(sts)).Should(ContainElement(And(
			HaveField("Reason", controller.ReasonUpgradeAvailable),
			HaveField("Note", ContainSubstring(contract.UpgradeAnnotation+"="+contract.UpgradeNow)))))

		By("a scale leaves the pod template as it is, with a warning that says how to upgrade")
		c, warnings := warningClient()
		sts.Spec.Replicas = ptr.To(int32(5))
		Expect(c.Update(ctx, sts)).To(Succeed())
		get(sts)
		Expect(sts.Spec.Template).To(Equal(*template))
		Expect(warnings.messages()).To(ContainElement(ContainSubstring(contract.UpgradeAnnotation + "=" + contract.UpgradeNow)))

		By("the upgrade annotation brings the sidecar to this release and is removed")
		sts.Annotations[contract.UpgradeAnnotation] = contract.UpgradeNow
		Expect(c.Update(ctx, sts)).To(Succeed())
		get(sts)
		Expect(sidecarOf(sts).Command).To(Equal(current))
		Expect(sts.Annotations).NotTo(HaveKey(contract.UpgradeAnnotation))
		Expect(mutate.DriftedParts(sts)).To(BeEmpty())
		Expect(warnings.messages()).To(ContainElement(ContainSubstring(`brought the webhook's container "xtrabackup" to release ` + contract.Release)))
	})
})
