// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package install

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/cluster"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/controlplane"
)

// The install uses cert-manager's kinds (Issuer, Certificate) the moment
// their CRDs are created, as make demo and make e2e do: the helper they
// share must wait until every kind is served, never fail on "no matches
// for kind". Each round deletes the CRDs (and with them their objects)
// and applies the CRDs and the install back to back.
func TestCRDsThenInstallBackToBack(t *testing.T) {
	crds, err := cluster.CertManagerCRDs()
	if err != nil {
		t.Fatal(err)
	}
	install, err := cluster.Install(filepath.Join(configDir, "default"), "")
	if err != nil {
		t.Fatal(err)
	}
	plane, c := startPlane(t, controlplane.Options{})
	disco, err := discovery.NewDiscoveryClientForConfig(plane.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const rounds = 5
	for round := 1; round <= rounds; round++ {
		if err := cluster.ApplyCRDs(ctx, plane.Config, crds); err != nil {
			t.Fatalf("round %d: CRDs: %v", round, err)
		}
		// What ApplyCRDs promises: every kind is listed the moment it returns.
		for _, crd := range crds {
			group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
			list, err := disco.ServerResourcesForGroupVersion(group + "/v1")
			if err != nil || !slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Kind == kind }) {
				t.Fatalf("round %d: discovery does not list %s right after ApplyCRDs (%v)", round, kind, err)
			}
		}
		if err := cluster.ApplyObjects(ctx, plane.Config, install); err != nil {
			t.Fatalf("round %d: the install right after the CRDs: %v", round, err)
		}
		if round == rounds {
			break
		}
		for _, crd := range crds {
			if err := c.Delete(ctx, crd.DeepCopy()); err != nil && !apierrors.IsNotFound(err) {
				t.Fatalf("round %d: deleting %s: %v", round, crd.GetName(), err)
			}
		}
		for _, crd := range crds {
			if err := cluster.Poll(ctx, time.Minute, "CRD "+crd.GetName()+" to be gone", func() (bool, error) {
				u := &unstructured.Unstructured{}
				u.SetGroupVersionKind(crd.GroupVersionKind())
				err := c.Get(ctx, client.ObjectKeyFromObject(crd), u)
				return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
			}); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}
