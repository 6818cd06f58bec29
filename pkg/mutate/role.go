package mutate

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// PodRole is the role of a pod of an injected StatefulSet: RolePrimary for
// ordinal 0, RoleReplica for the others. The ordinal comes from the
// apps.kubernetes.io/pod-index label, else from the pod name
// <statefulset>-<ordinal>. ok is false for a pod that is not one of an
// injected StatefulSet's, or whose ordinal cannot be told.
func PodRole(pod *corev1.Pod) (role string, ok bool) {
	sts := pod.Labels[contract.StatefulSetLabel]
	if sts == "" {
		return "", false
	}
	ordinal, err := strconv.Atoi(pod.Labels[contract.PodIndexLabel])
	if err != nil {
		suffix, found := strings.CutPrefix(pod.Name, sts+"-")
		if !found {
			return "", false
		}
		if ordinal, err = strconv.Atoi(suffix); err != nil {
			return "", false
		}
	}
	if ordinal < 0 {
		return "", false
	}
	if ordinal == 0 {
		return contract.RolePrimary, true
	}
	return contract.RoleReplica, true
}
