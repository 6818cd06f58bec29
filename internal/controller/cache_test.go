package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

func TestCacheOptions(t *testing.T) {
	opts := CacheOptions()
	if !opts.ReaderFailOnMissingInformer {
		t.Error("reading an uncached type through the cache would start an informer for all its objects")
	}
	scheme := clientgoscheme.Scheme
	byGVK := map[schema.GroupVersionKind]client.Object{}
	for obj, by := range opts.ByObject {
		gvk, err := apiutil.GVKForObject(obj, scheme)
		if err != nil {
			t.Fatal(err)
		}
		byGVK[gvk] = obj
		if by.Label == nil || by.Label.Empty() {
			t.Errorf("%s: cached whatever its labels", gvk.Kind)
		}
	}
	tests := map[string]struct {
		obj          client.Object
		label        labels.Set
		metadataOnly bool
	}{
		"StatefulSet":   {obj: &appsv1.StatefulSet{}, label: labels.Set{contract.EnabledLabel: contract.EnabledValue}},
		"ConfigMap":     {obj: &corev1.ConfigMap{}, label: labels.Set{contract.LabelManagedBy: contract.ManagedBy}, metadataOnly: true},
		"Service":       {obj: &corev1.Service{}, label: labels.Set{contract.LabelManagedBy: contract.ManagedBy}, metadataOnly: true},
		"NetworkPolicy": {obj: &networkingv1.NetworkPolicy{}, label: labels.Set{contract.LabelManagedBy: contract.ManagedBy}, metadataOnly: true},
	}
	if len(byGVK) != len(tests) {
		t.Errorf("%d types configured, want %d", len(byGVK), len(tests))
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			gvk, _ := apiutil.GVKForObject(tc.obj, scheme)
			key, ok := byGVK[gvk]
			if !ok {
				t.Fatal("not configured")
			}
			by := opts.ByObject[key]
			if !by.Label.Matches(tc.label) || by.Label.Matches(labels.Set{}) {
				t.Errorf("label selector %v", by.Label)
			}
			if tc.metadataOnly && by.Transform == nil {
				t.Error("no transform: whole metadata cached")
			}
		})
	}
	if _, ok := byGVK[corev1.SchemeGroupVersion.WithKind("Secret")]; ok {
		t.Error("Secrets are configured in the cache")
	}
}

func TestMetadataOnly(t *testing.T) {
	yes := true
	controller := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: "u-1", Controller: &yes}
	other := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "u-2"}
	typeMeta := metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}
	full := metav1.ObjectMeta{
		Name: "db", Namespace: "ns", UID: "u-3", ResourceVersion: "7", Generation: 2,
		Labels:        map[string]string{contract.LabelManagedBy: contract.ManagedBy},
		Annotations:   map[string]string{"big": "value"},
		Finalizers:    []string{"f"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}},
	}
	tests := map[string]struct {
		in   any
		want any
	}{
		"controlled": {
			in: &metav1.PartialObjectMetadata{TypeMeta: typeMeta, ObjectMeta: withOwners(full, other, controller)},
			want: &metav1.PartialObjectMetadata{TypeMeta: typeMeta, ObjectMeta: metav1.ObjectMeta{
				Name: "db", Namespace: "ns", UID: "u-3", ResourceVersion: "7", Generation: 2,
				OwnerReferences: []metav1.OwnerReference{controller},
			}},
		},
		"not controlled": {
			in: &metav1.PartialObjectMetadata{TypeMeta: typeMeta, ObjectMeta: withOwners(full, other)},
			want: &metav1.PartialObjectMetadata{TypeMeta: typeMeta, ObjectMeta: metav1.ObjectMeta{
				Name: "db", Namespace: "ns", UID: "u-3", ResourceVersion: "7", Generation: 2,
			}},
		},
		"a whole object is left as it is": {
			in:   &corev1.ConfigMap{ObjectMeta: full, Data: map[string]string{"k": "v"}},
			want: &corev1.ConfigMap{ObjectMeta: full, Data: map[string]string{"k": "v"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := MetadataOnly(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func withOwners(meta metav1.ObjectMeta, owners ...metav1.OwnerReference) metav1.ObjectMeta {
	meta.OwnerReferences = owners
	return meta
}
