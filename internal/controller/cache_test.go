// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package controller

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/fixtures"
)

func TestCacheOptions(t *testing.T) {
	opts := CacheOptions(nil)
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
		"StatefulSet":         {obj: &appsv1.StatefulSet{}, label: labels.Set{contract.EnabledLabel: contract.EnabledValue}},
		"ConfigMap":           {obj: &corev1.ConfigMap{}, label: labels.Set{contract.LabelManagedBy: contract.ManagedBy}, metadataOnly: true},
		"Service":             {obj: &corev1.Service{}, label: labels.Set{contract.LabelManagedBy: contract.ManagedBy}, metadataOnly: true},
		"NetworkPolicy":       {obj: &networkingv1.NetworkPolicy{}, label: labels.Set{contract.LabelManagedBy: contract.ManagedBy}, metadataOnly: true},
		"PodDisruptionBudget": {obj: &policyv1.PodDisruptionBudget{}, label: labels.Set{contract.LabelManagedBy: contract.ManagedBy}, metadataOnly: true},
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

// What the reconciler builds from the cached copy of a StatefulSet is what
// it would build from the whole object, for every fixture as the webhook
// completes it.
func TestStatefulSetForCacheKeepsWhatTheReconcilerReads(t *testing.T) {
	for name, y := range fixtures.StatefulSets() {
		t.Run(name, func(t *testing.T) {
			var sts appsv1.StatefulSet
			if err := yaml.UnmarshalStrict(y, &sts); err != nil {
				t.Fatal(err)
			}
			res, err := mutate.DefaultConfig().Inject(&sts, nil)
			if err != nil {
				t.Fatal(err)
			}
			whole := res.StatefulSet
			whole.UID, whole.ResourceVersion = "uid-1", "7"
			whole.Status.ReadyReplicas = 2
			// Every annotation the reconciler reads, too.
			if strings.Contains(name, "mysql-9") {
				whole.Annotations[contract.TLSIssuerAnnotation] = "ClusterIssuer/corp"
				whole.Annotations[contract.ClientNamespacesAnnotation] = "web"
			}
			out, err := StatefulSetForCache(whole.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			cached := out.(*appsv1.StatefulSet)
			if _, tooLarge := cached.Annotations[contract.TooLargeToCacheAnnotation]; tooLarge {
				t.Fatalf("a fixture is too large to cache: %v", cached.Annotations)
			}
			wantCompanions, err := mutate.BuildCompanions(whole)
			if err != nil {
				t.Fatal(err)
			}
			gotCompanions, err := mutate.BuildCompanions(cached)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantCompanions, gotCompanions); diff != "" {
				t.Errorf("companions differ (-whole +cached):\n%s", diff)
			}
			wantTLS, wantErr := mutate.TLSObjects(whole, contract.DefaultClusterDomain)
			gotTLS, gotErr := mutate.TLSObjects(cached, contract.DefaultClusterDomain)
			if diff := cmp.Diff(wantTLS, gotTLS); diff != "" || (wantErr == nil) != (gotErr == nil) {
				t.Errorf("TLS objects differ (-whole +cached), errors %v, %v:\n%s", wantErr, gotErr, diff)
			}
			wantPolicy, _ := BuildBackupNetworkPolicy(whole)
			gotPolicy, _ := BuildBackupNetworkPolicy(cached)
			if diff := cmp.Diff(wantPolicy, gotPolicy); diff != "" {
				t.Errorf("NetworkPolicy differs (-whole +cached):\n%s", diff)
			}
			if mutate.GeneratesCredentials(whole.Annotations) != mutate.GeneratesCredentials(cached.Annotations) ||
				mutate.CredentialsSecretName(whole.Name, whole.Annotations) != mutate.CredentialsSecretName(cached.Name, cached.Annotations) ||
				cached.Status.ReadyReplicas != 2 || !mutate.Enabled(cached) || cached.UID != whole.UID {
				t.Errorf("the cached copy reads differently: %+v", cached)
			}
		})
	}
}

// A tenant's StatefulSet of a megabyte costs the cache a few hundred bytes;
// one whose labels and selector themselves are large is kept as its
// identity and a mark the reconciler reports.
func TestStatefulSetForCacheBoundsItsSize(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: "db", Namespace: "ns", UID: "u",
			Labels:      map[string]string{contract.EnabledLabel: contract.EnabledValue, "junk": strings.Repeat("y", 63)},
			Annotations: map[string]string{"junk": big, contract.FlavorAnnotation: "mysql"},
		},
		Spec: appsv1.StatefulSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}, Annotations: map[string]string{"junk": big}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "mysql", Image: "mysql:8.4", Command: []string{big}, Env: []corev1.EnvVar{{Name: "X", Value: big}},
				}}},
			},
		},
	}
	out, err := StatefulSetForCache(sts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 1024 {
		t.Errorf("a StatefulSet of 4 MB is cached as %d bytes: %s", len(b), b)
	}

	for i := 0; i < 400; i++ {
		k := fmt.Sprintf("label-%03d-%s", i, strings.Repeat("k", 40))
		sts.Spec.Selector.MatchLabels[k] = strings.Repeat("v", 63)
		sts.Spec.Template.Labels[k] = strings.Repeat("v", 63)
	}
	out, err = StatefulSetForCache(sts)
	if err != nil {
		t.Fatal(err)
	}
	stub := out.(*appsv1.StatefulSet)
	if stub.Annotations[contract.TooLargeToCacheAnnotation] == "" || stub.Spec.Selector != nil || stub.Name != "db" || stub.UID != "u" {
		t.Errorf("a StatefulSet with 80 KB of selector is cached as %+v", stub)
	}
	if b, _ := json.Marshal(stub); len(b) > 1024 {
		t.Errorf("its stub is %d bytes", len(b))
	}
}
