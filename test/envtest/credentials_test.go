// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// statefulSetPod is a pod as the StatefulSet controller would create it from
// the stored StatefulSet: its template's labels, the StatefulSet as its
// controller.
func statefulSetPod(sts *appsv1.StatefulSet, name, index string) *corev1.Pod {
	lbls := map[string]string{}
	for k, v := range sts.Spec.Template.Labels {
		lbls[k] = v
	}
	if index != "" {
		lbls[contract.PodIndexLabel] = index
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: sts.Namespace, Labels: lbls,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "mysql", Image: "mysql:5.7"}}},
	}
}

// collectGarbage does what the garbage collector, absent from envtest, does
// when the owner with the given UID is deleted: it deletes the companions in
// ns that it owns.
func collectGarbage(ns string, owner types.UID) {
	GinkgoHelper()
	lists := []client.ObjectList{&corev1.ConfigMapList{}, &corev1.ServiceList{}, &corev1.SecretList{}, &networkingv1.NetworkPolicyList{}}
	for _, list := range lists {
		Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		Expect(meta.EachListItem(list, func(o runtime.Object) error {
			obj := o.(client.Object)
			for _, ref := range obj.GetOwnerReferences() {
				if ref.UID == owner {
					return client.IgnoreNotFound(k8sClient.Delete(ctx, obj))
				}
			}
			return nil
		})).To(Succeed())
	}
}

var _ = Describe("credentials and the read/write split", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("creates the credentials Secret once and never changes it", func() {
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		secret := &corev1.Secret{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-credentials"), secret) }).Should(Succeed())
		Expect(secret.Data[contract.RootPasswordKey]).To(HaveLen(32))
		Expect(secret.Data[contract.ReplicationPasswordKey]).To(HaveLen(32))
		Expect(secret.Data[contract.RootPasswordKey]).NotTo(Equal(secret.Data[contract.ReplicationPasswordKey]))
		before := secret.DeepCopy()

		// Reconcile again: touch the StatefulSet.
		get(sts)
		sts.Annotations["touched"] = "yes"
		Expect(k8sClient.Update(ctx, sts)).To(Succeed())
		Consistently(func() string {
			Expect(k8sClient.Get(ctx, key(ns, "mysql-credentials"), secret)).To(Succeed())
			return secret.ResourceVersion
		}).WithTimeout(2 * time.Second).Should(Equal(before.ResourceVersion))
		Expect(secret.Data).To(Equal(before.Data))
	})

	It("keeps the credentials Secret when the StatefulSet goes, and reuses it when it comes back", func() {
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		secret := &corev1.Secret{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-credentials"), secret) }).Should(Succeed())
		// No owner, so the garbage collector (which envtest has not) leaves
		// it as it leaves the PersistentVolumeClaims.
		Expect(secret.OwnerReferences).To(BeEmpty())
		// The other companions still go with the StatefulSet.
		cm := &corev1.ConfigMap{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql"), cm) }).Should(Succeed())
		Expect(cm.OwnerReferences).To(ConsistOf(HaveField("UID", sts.UID)))
		before := secret.DeepCopy()

		Expect(k8sClient.Delete(ctx, sts)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "mysql"), &appsv1.StatefulSet{}))
		}).Should(BeTrue())
		collectGarbage(ns, sts.UID)

		again := minimal(ns)
		Expect(k8sClient.Create(ctx, again)).To(Succeed())
		Expect(again.UID).NotTo(Equal(sts.UID))
		// The reconciler has run for the new StatefulSet once its new
		// companions carry its UID. The garbage collector keeps running, as
		// a cluster's does: a companion that a reconcile of the deleted
		// StatefulSet (still in the controller's cache) created again goes
		// too, and the new StatefulSet's reconcile then creates its own.
		Eventually(func() ([]metav1.OwnerReference, error) {
			collectGarbage(ns, sts.UID)
			var svc corev1.Service
			err := k8sClient.Get(ctx, key(ns, "mysql-read"), &svc)
			return svc.OwnerReferences, err
		}).Should(ContainElement(HaveField("UID", again.UID)))
		Consistently(func() *corev1.Secret {
			got := &corev1.Secret{}
			Expect(k8sClient.Get(ctx, key(ns, "mysql-credentials"), got)).To(Succeed())
			return got
		}).WithTimeout(2 * time.Second).Should(And(
			HaveField("UID", before.UID),
			HaveField("ResourceVersion", before.ResourceVersion),
			HaveField("Data", Equal(before.Data)),
			HaveField("OwnerReferences", BeEmpty())))
		get(again)
		Expect(again.Spec.Template.Spec.Containers[0].Env).To(ContainElement(HaveField("ValueFrom.SecretKeyRef.Name", "mysql-credentials")))
	})

	It("uses a Secret the user names and creates none", func() {
		sts := minimal(ns)
		sts.Annotations = map[string]string{contract.CredentialsSecretAnnotation: "my-passwords"}
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		Expect(sts.Spec.Template.Spec.Containers[0].Env).To(ContainElement(HaveField("ValueFrom.SecretKeyRef.Name", "my-passwords")))
		Expect(sts.Spec.Template.Spec.Containers[1].Env).To(ContainElement(HaveField("ValueFrom.SecretKeyRef.Name", "my-passwords")))
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "mysql-read"), &corev1.Service{}) }).Should(Succeed())
		Consistently(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "mysql-credentials"), &corev1.Secret{}))
		}).WithTimeout(time.Second).Should(BeTrue())
	})

	It("labels pods with their role, and the primary and replicas Services select them", func() {
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		pods := []*corev1.Pod{
			statefulSetPod(sts, "mysql-0", "0"),
			statefulSetPod(sts, "mysql-1", "1"),
			statefulSetPod(sts, "mysql-2", ""), // no pod-index label: the name tells
		}
		for _, p := range pods {
			Expect(k8sClient.Create(ctx, p)).To(Succeed())
		}
		Expect(pods[0].Labels).To(HaveKeyWithValue(contract.RoleLabel, contract.RolePrimary))
		Expect(pods[1].Labels).To(HaveKeyWithValue(contract.RoleLabel, contract.RoleReplica))
		Expect(pods[2].Labels).To(HaveKeyWithValue(contract.RoleLabel, contract.RoleReplica))

		other := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "mysql-client", Namespace: ns, Labels: map[string]string{"app": "mysql"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "mysql:5.7"}}},
		}
		Expect(k8sClient.Create(ctx, other)).To(Succeed())
		Expect(other.Labels).NotTo(HaveKey(contract.RoleLabel))

		selects := func(svcName string) []string {
			svc := &corev1.Service{}
			Eventually(func() error { return k8sClient.Get(ctx, key(ns, svcName), svc) }).Should(Succeed())
			sel := labels.SelectorFromSet(svc.Spec.Selector)
			var list corev1.PodList
			Expect(k8sClient.List(ctx, &list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel})).To(Succeed())
			return names(list.Items, func(p corev1.Pod) string { return p.Name })
		}
		Expect(selects("mysql-primary")).To(ConsistOf("mysql-0"))
		Expect(selects("mysql-replicas")).To(ConsistOf("mysql-1", "mysql-2"))
		Expect(selects("mysql-read")).To(ConsistOf("mysql-0", "mysql-1", "mysql-2", "mysql-client"))
	})

	It("gives the primary's role to no pod that only says it is the primary", func() {
		sts := minimal(ns)
		Expect(k8sClient.Create(ctx, sts)).To(Succeed())
		get(sts)
		// The StatefulSet's labels, pod-index 0 and the primary's role,
		// set by the pod itself; no StatefulSet controls it.
		forged := statefulSetPod(sts, "mysql-0", "0")
		forged.OwnerReferences = nil
		forged.Labels[contract.RoleLabel] = contract.RolePrimary
		Expect(k8sClient.Create(ctx, forged)).To(Succeed())
		Expect(forged.Labels).NotTo(HaveKey(contract.RoleLabel))
		// A replica that says it is ordinal 0.
		lying := statefulSetPod(sts, "mysql-3", "0")
		Expect(k8sClient.Create(ctx, lying)).To(Succeed())
		Expect(lying.Labels).NotTo(HaveKey(contract.RoleLabel))

		// Nor by an UPDATE: neither on a pod not entitled to a role, nor on
		// a replica.
		forged.Labels[contract.RoleLabel] = contract.RolePrimary
		err := k8sClient.Update(ctx, forged)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("may not carry label " + contract.RoleLabel))
		replica := statefulSetPod(sts, "mysql-1", "1")
		Expect(k8sClient.Create(ctx, replica)).To(Succeed())
		Expect(replica.Labels).To(HaveKeyWithValue(contract.RoleLabel, contract.RoleReplica))
		replica.Labels[contract.RoleLabel] = contract.RolePrimary
		err = k8sClient.Update(ctx, replica)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring(`must stay "replica"`))
		// Other changes to the replica go through.
		get(replica)
		replica.Labels["team"] = "db"
		Expect(k8sClient.Update(ctx, replica)).To(Succeed())

		// A role label on any other pod of the namespace is removed too.
		other := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "impostor", Namespace: ns, Labels: map[string]string{"app": "mysql", contract.RoleLabel: contract.RolePrimary}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "mysql:5.7"}}},
		}
		Expect(k8sClient.Create(ctx, other)).To(Succeed())
		Expect(other.Labels).NotTo(HaveKey(contract.RoleLabel))
	})
})
