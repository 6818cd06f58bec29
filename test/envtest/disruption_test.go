// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

var _ = Describe("the PodDisruptionBudget", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("lets an eviction take one database pod at a time, owned by the StatefulSet, and is made once it has more than one pod", func() {
		sts := minimal(ns)
		sts.Spec.Replicas = ptr.To[int32](1)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-read"), &corev1.Service{}) }).Should(Succeed())
		Consistently(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "mysql"), &policyv1.PodDisruptionBudget{}))
		}).WithTimeout(2*time.Second).Should(BeTrue(), "a StatefulSet of one pod has no budget")

		Expect(k8sClient.Patch(ctx, sts, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":3}}`)))).To(Succeed())
		budget := &policyv1.PodDisruptionBudget{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql"), budget) }).Should(Succeed())
		Expect(budget.Spec.MaxUnavailable).To(HaveValue(Equal(intstr.FromInt32(1))))
		Expect(budget.Spec.Selector).To(HaveValue(Equal(metav1.LabelSelector{MatchLabels: map[string]string{contract.StatefulSetLabel: "mysql"}})))
		Expect(budget.OwnerReferences).To(ConsistOf(And(
			HaveField("Kind", "StatefulSet"), HaveField("Name", "mysql"), HaveField("UID", sts.UID),
			HaveField("Controller", HaveValue(BeTrue())))))
		Expect(budget.Labels).To(HaveKeyWithValue(contract.LabelComponent, contract.ComponentDisruption))

		stored := &appsv1.StatefulSet{}
		Expect(k8sClient.Get(ctx, key(ns, "mysql"), stored)).To(Succeed())
		Expect(stored.Spec.Template.Labels).To(HaveKeyWithValue(contract.StatefulSetLabel, "mysql"), "the budget selects the pods by this label")
	})
})
