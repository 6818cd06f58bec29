// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

func TestPodRole(t *testing.T) {
	ownedBy := func(kind, apiVersion, name string, controller bool) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: "u", Controller: ptr.To(controller)}}
	}
	sts := ownedBy("StatefulSet", "apps/v1", "db", true)
	pod := func(name string, owners []metav1.OwnerReference, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, OwnerReferences: owners}}
	}
	ours := func(extra ...string) map[string]string {
		l := map[string]string{contract.StatefulSetLabel: "db"}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	tests := map[string]struct {
		pod      *corev1.Pod
		wantRole string
		wantWhy  string
	}{
		"index label 0":          {pod: pod("db-0", sts, ours(contract.PodIndexLabel, "0")), wantRole: contract.RolePrimary},
		"index label 3":          {pod: pod("db-3", sts, ours(contract.PodIndexLabel, "3")), wantRole: contract.RoleReplica},
		"name only, primary":     {pod: pod("db-0", sts, ours()), wantRole: contract.RolePrimary},
		"name only, replica":     {pod: pod("db-12", sts, ours()), wantRole: contract.RoleReplica},
		"name of a dashed set":   {pod: pod("my-db-1", ownedBy("StatefulSet", "apps/v1", "my-db", true), map[string]string{contract.StatefulSetLabel: "my-db"}), wantRole: contract.RoleReplica},
		"not ours":               {pod: pod("db-0", sts, map[string]string{"app": "db"}), wantWhy: "no mysql-replication.io/statefulset label"},
		"no owner":               {pod: pod("db-0", nil, ours(contract.PodIndexLabel, "0")), wantWhy: "controller is not StatefulSet db"},
		"another set owns it":    {pod: pod("db-0", ownedBy("StatefulSet", "apps/v1", "other", true), ours()), wantWhy: "controller is not StatefulSet db"},
		"owned, not controlled":  {pod: pod("db-0", ownedBy("StatefulSet", "apps/v1", "db", false), ours()), wantWhy: "controller is not StatefulSet db"},
		"a Deployment's pod":     {pod: pod("db-0", ownedBy("ReplicaSet", "apps/v1", "db", true), ours()), wantWhy: "controller is not StatefulSet db"},
		"generated name":         {pod: pod("", sts, ours()), wantWhy: "name is not db-<ordinal>"},
		"another set's name":     {pod: pod("other-0", sts, ours()), wantWhy: "name is not db-<ordinal>"},
		"suffix is not a number": {pod: pod("db-abc", sts, ours()), wantWhy: "name is not db-<ordinal>"},
		"leading zero":           {pod: pod("db-01", sts, ours()), wantWhy: "name is not db-<ordinal>"},
		"index label not its own": {pod: pod("db-2", sts, ours(contract.PodIndexLabel, "0")),
			wantWhy: `apps.kubernetes.io/pod-index label "0" is not its ordinal 2`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			role, why := PodRole(tc.pod)
			if role != tc.wantRole || (tc.wantWhy == "") != (why == "") || !strings.Contains(why, tc.wantWhy) {
				t.Errorf("PodRole = %q, %q; want %q, %q", role, why, tc.wantRole, tc.wantWhy)
			}
		})
	}
}
