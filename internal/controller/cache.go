// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// CacheOptions keeps the manager's cache to what the controller needs, so
// that no tenant can grow it with objects of their own:
//
//   - the labeled StatefulSets, cut down to what the reconciler builds the
//     companions from (StatefulSetForCache), at most MaxCachedStatefulSet
//     bytes of labels, selectors and annotations each;
//   - the ConfigMaps, Services and NetworkPolicies labeled as managed by
//     this project, as metadata only and cut down to name, namespace, UID,
//     resource version and controller reference (MetadataOnly): the label is
//     anyone's to set, but a tenant's object then costs a few hundred bytes
//     whatever its size;
//   - no Secret at all.
//
// Reading any other type through the cache fails (ReaderFailOnMissingInformer)
// instead of starting an informer that would hold every object of that type.
//
// stale tells a completed StatefulSet whose webhook parts the running
// release would inject otherwise; the cache marks it with
// contract.StaleInjectionAnnotation (nil: none is marked).
func CacheOptions(stale func(*appsv1.StatefulSet) bool) cache.Options {
	enabled := labels.SelectorFromSet(labels.Set{contract.EnabledLabel: contract.EnabledValue})
	managed := cache.ByObject{
		Label:     labels.SelectorFromSet(labels.Set{contract.LabelManagedBy: contract.ManagedBy}),
		Transform: MetadataOnly,
	}
	return cache.Options{
		ReaderFailOnMissingInformer: true,
		DefaultTransform:            cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&appsv1.StatefulSet{}:           {Label: enabled, Transform: statefulSetTransform(stale)},
			&corev1.ConfigMap{}:             managed,
			&corev1.Service{}:               managed,
			&networkingv1.NetworkPolicy{}:   managed,
			&policyv1.PodDisruptionBudget{}: managed,
		},
	}
}

var _ toolscache.TransformFunc = MetadataOnly

// MetadataOnly cuts a metadata-only object down to what the watches of the
// companions use: its identity and its controller reference. Labels,
// annotations, managedFields and other owner references are dropped. Any
// other object is returned as it is.
func MetadataOnly(in any) (any, error) {
	obj, ok := in.(*metav1.PartialObjectMetadata)
	if !ok {
		return in, nil
	}
	out := &metav1.PartialObjectMetadata{TypeMeta: obj.TypeMeta, ObjectMeta: identity(&obj.ObjectMeta)}
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		out.OwnerReferences = []metav1.OwnerReference{*ref}
	}
	return out, nil
}

// readAnnotations are the annotations the reconciler reads.
var readAnnotations = []string{
	contract.FlavorAnnotation, contract.ServerVersionAnnotation, contract.CredentialsSecretAnnotation,
	contract.InsecureTutorialAnnotation, contract.ClientNamespacesAnnotation, contract.InjectorVersionAnnotation,
	contract.TLSSecretAnnotation, contract.TLSIssuerAnnotation, contract.MetricsAnnotation,
}

// MaxCachedStatefulSet bounds the bytes of names, labels, selectors,
// annotations and images the cache keeps of one StatefulSet. A StatefulSet
// the webhook completed needs a few hundred; a larger one is kept as its
// identity and TooLargeToCacheAnnotation, and the reconciler reports it.
const MaxCachedStatefulSet = 16 << 10

var _ toolscache.TransformFunc = StatefulSetForCache

// statefulSetTransform is StatefulSetForCache, and marks a stale injection.
func statefulSetTransform(stale func(*appsv1.StatefulSet) bool) toolscache.TransformFunc {
	return func(in any) (any, error) {
		out, err := StatefulSetForCache(in)
		sts, ok := in.(*appsv1.StatefulSet)
		cached, okOut := out.(*appsv1.StatefulSet)
		if err != nil || !ok || !okOut || stale == nil || !stale(sts) {
			return out, err
		}
		if cached.Annotations == nil {
			cached.Annotations = map[string]string{}
		}
		cached.Annotations[contract.StaleInjectionAnnotation] = "true"
		return cached, nil
	}
}

// StatefulSetForCache cuts a StatefulSet down to what the reconciler
// reads: its identity, the enabled label, the annotations it reads, the
// service name, selector, replicas and pod template labels, the name and
// image of each container, and the ready and current replica counts. A
// tenant's StatefulSet then costs the cache what it costs the reconciler,
// at most MaxCachedStatefulSet bytes. Any other object is returned as it
// is.
func StatefulSetForCache(in any) (any, error) {
	sts, ok := in.(*appsv1.StatefulSet)
	if !ok {
		return in, nil
	}
	out := &appsv1.StatefulSet{TypeMeta: sts.TypeMeta, ObjectMeta: identity(&sts.ObjectMeta)}
	if v, ok := sts.Labels[contract.EnabledLabel]; ok {
		out.Labels = map[string]string{contract.EnabledLabel: v}
	}
	for _, key := range readAnnotations {
		if v, ok := sts.Annotations[key]; ok {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[key] = v
		}
	}
	out.Spec.ServiceName = sts.Spec.ServiceName
	out.Spec.Replicas = sts.Spec.Replicas
	out.Spec.Selector = sts.Spec.Selector
	out.Spec.Template.Labels = sts.Spec.Template.Labels
	for _, c := range sts.Spec.Template.Spec.Containers {
		out.Spec.Template.Spec.Containers = append(out.Spec.Template.Spec.Containers, corev1.Container{Name: c.Name, Image: c.Image})
	}
	out.Status = appsv1.StatefulSetStatus{
		ObservedGeneration: sts.Status.ObservedGeneration,
		Replicas:           sts.Status.Replicas,
		ReadyReplicas:      sts.Status.ReadyReplicas,
		UpdatedReplicas:    sts.Status.UpdatedReplicas,
	}
	if size := cachedBytes(out); size > MaxCachedStatefulSet {
		stub := &appsv1.StatefulSet{TypeMeta: out.TypeMeta, ObjectMeta: out.ObjectMeta}
		stub.Annotations = map[string]string{contract.TooLargeToCacheAnnotation: strconv.Itoa(size)}
		return stub, nil
	}
	return out, nil
}

// cachedBytes counts the strings StatefulSetForCache keeps.
func cachedBytes(sts *appsv1.StatefulSet) int {
	n := len(sts.Name) + len(sts.Namespace) + len(sts.Spec.ServiceName)
	for _, m := range []map[string]string{sts.Labels, sts.Annotations, sts.Spec.Template.Labels} {
		for k, v := range m {
			n += len(k) + len(v)
		}
	}
	if sel := sts.Spec.Selector; sel != nil {
		for k, v := range sel.MatchLabels {
			n += len(k) + len(v)
		}
		for _, r := range sel.MatchExpressions {
			n += len(r.Key) + len(r.Operator)
			for _, v := range r.Values {
				n += len(v)
			}
		}
	}
	for _, c := range sts.Spec.Template.Spec.Containers {
		n += len(c.Name) + len(c.Image)
	}
	return n
}

// identity is what the cache keeps of any object's metadata: its name,
// namespace, UID, versions and timestamps.
func identity(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		Generation:        m.Generation,
		CreationTimestamp: m.CreationTimestamp,
		DeletionTimestamp: m.DeletionTimestamp,
	}
}
