package controller

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
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
//   - the labeled StatefulSets, whole (without managedFields), because the
//     reconciler builds the companions from them;
//   - the ConfigMaps, Services and NetworkPolicies labeled as managed by
//     this project, as metadata only and cut down to name, namespace, UID,
//     resource version and controller reference (MetadataOnly): the label is
//     anyone's to set, but a tenant's object then costs a few hundred bytes
//     whatever its size;
//   - no Secret at all.
//
// Reading any other type through the cache fails (ReaderFailOnMissingInformer)
// instead of starting an informer that would hold every object of that type.
func CacheOptions() cache.Options {
	enabled := labels.SelectorFromSet(labels.Set{contract.EnabledLabel: contract.EnabledValue})
	managed := cache.ByObject{
		Label:     labels.SelectorFromSet(labels.Set{contract.LabelManagedBy: contract.ManagedBy}),
		Transform: MetadataOnly,
	}
	return cache.Options{
		ReaderFailOnMissingInformer: true,
		DefaultTransform:            cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&appsv1.StatefulSet{}:         {Label: enabled},
			&corev1.ConfigMap{}:           managed,
			&corev1.Service{}:             managed,
			&networkingv1.NetworkPolicy{}: managed,
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
	out := &metav1.PartialObjectMetadata{
		TypeMeta: obj.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:              obj.Name,
			Namespace:         obj.Namespace,
			UID:               obj.UID,
			ResourceVersion:   obj.ResourceVersion,
			Generation:        obj.Generation,
			CreationTimestamp: obj.CreationTimestamp,
			DeletionTimestamp: obj.DeletionTimestamp,
		},
	}
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		out.OwnerReferences = []metav1.OwnerReference{*ref}
	}
	return out, nil
}
