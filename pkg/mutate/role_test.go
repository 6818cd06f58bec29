package mutate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

func TestPodRole(t *testing.T) {
	pod := func(name string, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	tests := map[string]struct {
		pod      *corev1.Pod
		wantRole string
		wantOK   bool
	}{
		"index label 0":          {pod("db-0", map[string]string{contract.StatefulSetLabel: "db", contract.PodIndexLabel: "0"}), contract.RolePrimary, true},
		"index label 3":          {pod("db-3", map[string]string{contract.StatefulSetLabel: "db", contract.PodIndexLabel: "3"}), contract.RoleReplica, true},
		"index label wins":       {pod("db-0", map[string]string{contract.StatefulSetLabel: "db", contract.PodIndexLabel: "2"}), contract.RoleReplica, true},
		"name only, primary":     {pod("db-0", map[string]string{contract.StatefulSetLabel: "db"}), contract.RolePrimary, true},
		"name only, replica":     {pod("db-12", map[string]string{contract.StatefulSetLabel: "db"}), contract.RoleReplica, true},
		"name of a dashed set":   {pod("my-db-1", map[string]string{contract.StatefulSetLabel: "my-db"}), contract.RoleReplica, true},
		"not ours":               {pod("db-0", map[string]string{"app": "db"}), "", false},
		"generated name":         {pod("", map[string]string{contract.StatefulSetLabel: "db"}), "", false},
		"another set's name":     {pod("other-0", map[string]string{contract.StatefulSetLabel: "db"}), "", false},
		"negative index":         {pod("db-x", map[string]string{contract.StatefulSetLabel: "db", contract.PodIndexLabel: "-1"}), "", false},
		"suffix is not a number": {pod("db-abc", map[string]string{contract.StatefulSetLabel: "db"}), "", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			role, ok := PodRole(tc.pod)
			if role != tc.wantRole || ok != tc.wantOK {
				t.Errorf("PodRole = %q, %v; want %q, %v", role, ok, tc.wantRole, tc.wantOK)
			}
		})
	}
}
