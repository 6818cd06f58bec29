// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/profile"
)

// StatefulSetProfile is the server profile of a StatefulSet: that of its
// database container's image and its annotations.
func StatefulSetProfile(sts *appsv1.StatefulSet) (profile.Profile, error) {
	containers := sts.Spec.Template.Spec.Containers
	i, err := mainContainer(containers)
	if err != nil {
		return profile.Profile{}, err
	}
	return ProfileOf(sts, containers[i].Image)
}

// ConfigMapName is the ConfigMap holding the primary and replica .cnf files.
func ConfigMapName(sts *appsv1.StatefulSet) string { return sts.Name }

// HeadlessServiceName is the Service giving the pods their DNS names.
func HeadlessServiceName(sts *appsv1.StatefulSet) string {
	if sts.Spec.ServiceName != "" {
		return sts.Spec.ServiceName
	}
	return sts.Name
}

// ReadServiceName is the Service balancing reads over all pods.
func ReadServiceName(sts *appsv1.StatefulSet) string { return sts.Name + contract.ReadServiceTail }

// PrimaryServiceName is the Service for writes: the primary alone.
func PrimaryServiceName(sts *appsv1.StatefulSet) string {
	return sts.Name + contract.PrimaryServiceTail
}

// ReplicasServiceName is the Service for reads on replicas only.
func ReplicasServiceName(sts *appsv1.StatefulSet) string {
	return sts.Name + contract.ReplicasServiceTail
}

// Companions are the objects a replicated StatefulSet needs beside itself.
type Companions struct {
	ConfigMap *corev1.ConfigMap
	// Headless gives the pods DNS names; Read balances reads over all pods,
	// as in the tutorial.
	Headless *corev1.Service
	Read     *corev1.Service
	// Primary takes writes; Replicas balances reads over ready replicas.
	Primary  *corev1.Service
	Replicas *corev1.Service
}

// Objects lists the companions in a fixed order.
func (c Companions) Objects() []client.Object {
	return []client.Object{c.ConfigMap, c.Headless, c.Read, c.Primary, c.Replicas}
}

// BuildCompanions builds the ConfigMap, the headless and the read Service for
// a StatefulSet. When the StatefulSet has a UID (it is stored), each carries
// a controller owner reference to it, so it goes away with the StatefulSet.
func BuildCompanions(sts *appsv1.StatefulSet) (Companions, error) {
	prof, err := StatefulSetProfile(sts)
	if err != nil {
		return Companions{}, err
	}
	selector := podSelector(sts)
	if len(selector) == 0 {
		return Companions{}, inputErrorf(ReasonSelector, "StatefulSet %q has no pod labels to select its pods by: set spec.selector.matchLabels", sts.Name)
	}

	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: CompanionMeta(sts, ConfigMapName(sts), contract.ComponentConfig),
		Data: map[string]string{
			contract.PrimaryConfigKey: prof.PrimaryConfig,
			contract.ReplicaConfigKey: prof.ReplicaConfig,
		},
	}
	for _, key := range []string{contract.PrimaryConfigKey, contract.ReplicaConfigKey} {
		cm.Data[key] += prof.Durability
		if prof.TLS {
			cm.Data[key] += serverTLSConfig()
		}
	}
	port := []corev1.ServicePort{{Name: contract.MySQLPortName, Port: contract.MySQLPort, TargetPort: intstr.FromInt32(contract.MySQLPort)}}
	headless := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: CompanionMeta(sts, HeadlessServiceName(sts), contract.ComponentHeadless),
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Ports:     port,
			Selector:  selector,
			// Each pod's name resolves from its creation, ready or not: a
			// replica reaches a primary that is recovering, a new pod its
			// clone source, and a name never goes unanswered for a while
			// (pods name each other fully qualified, so no other name is
			// tried meanwhile).
			PublishNotReadyAddresses: true,
		},
	}
	read := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: CompanionMeta(sts, ReadServiceName(sts), contract.ComponentRead),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Ports:    port,
			Selector: selector,
		},
	}
	byRole := func(name, component, role string) *corev1.Service {
		sel := copyMap(selector)
		sel[contract.RoleLabel] = role
		return &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: CompanionMeta(sts, name, component),
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Ports: port, Selector: sel},
		}
	}
	return Companions{
		ConfigMap: cm, Headless: headless, Read: read,
		Primary:  byRole(PrimaryServiceName(sts), contract.ComponentPrimary, contract.RolePrimary),
		Replicas: byRole(ReplicasServiceName(sts), contract.ComponentReplicas, contract.RoleReplica),
	}, nil
}

// InitializedConfigMapName is the ConfigMap whose existence records that
// the StatefulSet's primary has been initialised.
func InitializedConfigMapName(sts *appsv1.StatefulSet) string {
	return sts.Name + contract.InitializedTail
}

// BuildInitializedMarker builds that ConfigMap, saying when (the caller's
// clock keeps this pure). It has no owner: it describes the data, which
// outlives the StatefulSet in its PersistentVolumeClaims, so a StatefulSet
// deleted (kubectl delete, a GitOps prune) and created again still refuses
// to start an emptied pod 0 as an empty primary.
func BuildInitializedMarker(sts *appsv1.StatefulSet, when string) *corev1.ConfigMap {
	meta := CompanionMeta(sts, InitializedConfigMapName(sts), contract.ComponentInitialized)
	meta.OwnerReferences = nil
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta,
		Data:       map[string]string{contract.InitializedKey: when},
	}
}

// PasswordKeys are the keys of a credentials Secret.
func PasswordKeys() []string {
	return []string{contract.RootPasswordKey, contract.ReplicationPasswordKey, contract.ClonePasswordKey}
}

// BuildCredentialsSecret builds the generated credentials Secret of sts;
// password makes up each password (the caller's randomness keeps this
// pure).
func BuildCredentialsSecret(sts *appsv1.StatefulSet, password func() (string, error)) (*corev1.Secret, error) {
	data := map[string][]byte{}
	for _, key := range PasswordKeys() {
		p, err := password()
		if err != nil {
			return nil, err
		}
		data[key] = []byte(p)
	}
	meta := CompanionMeta(sts, CredentialsSecretName(sts.Name, nil), contract.ComponentSecret)
	// No owner: like the data in the PersistentVolumeClaims, which holds
	// these passwords, the Secret outlives the StatefulSet.
	meta.OwnerReferences = nil
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: meta,
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}, nil
}

// podSelector selects the StatefulSet's pods: its matchLabels when the
// selector is only labels, else the pod template's labels.
func podSelector(sts *appsv1.StatefulSet) map[string]string {
	if s := sts.Spec.Selector; s != nil && len(s.MatchLabels) > 0 && len(s.MatchExpressions) == 0 {
		return copyMap(s.MatchLabels)
	}
	return copyMap(sts.Spec.Template.Labels)
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// CompanionMeta is the metadata of a companion made for sts: its labels,
// and, when sts has a UID (it is stored), a controller owner reference to
// it.
func CompanionMeta(sts *appsv1.StatefulSet, name, component string) metav1.ObjectMeta {
	meta := metav1.ObjectMeta{
		Name:      name,
		Namespace: sts.Namespace,
		Labels: map[string]string{
			contract.LabelName:      contract.AppName,
			contract.LabelInstance:  sts.Name,
			contract.LabelComponent: component,
			contract.LabelManagedBy: contract.ManagedBy,
			contract.LabelPartOf:    sts.Name,
		},
	}
	if sts.UID != "" {
		meta.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))}
	}
	return meta
}

func metaName(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
