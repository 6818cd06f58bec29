// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// PodRole is the role a pod of an injected StatefulSet is entitled to:
// contract.RolePrimary for ordinal 0, contract.RoleReplica for the others.
// What a pod says about itself counts only where the StatefulSet
// controller made it so: the pod names its StatefulSet with
// contract.StatefulSetLabel, that StatefulSet is its controller (owner
// reference), its name is <statefulset>-<ordinal>, and its
// apps.kubernetes.io/pod-index label, where it has one, is that ordinal.
// Otherwise the role is "" and why says why, for messages.
func PodRole(pod *corev1.Pod) (role, why string) {
	sts := pod.Labels[contract.StatefulSetLabel]
	if sts == "" {
		return "", fmt.Sprintf("it has no %s label", contract.StatefulSetLabel)
	}
	owner := metav1.GetControllerOfNoCopy(pod)
	if owner == nil || owner.Kind != "StatefulSet" || owner.APIVersion != appsv1.SchemeGroupVersion.String() || owner.Name != sts {
		return "", fmt.Sprintf("its controller is not StatefulSet %s", sts)
	}
	suffix, found := strings.CutPrefix(pod.Name, sts+"-")
	ordinal, err := strconv.Atoi(suffix)
	if !found || err != nil || ordinal < 0 || strconv.Itoa(ordinal) != suffix {
		return "", fmt.Sprintf("its name is not %s-<ordinal>", sts)
	}
	if index, ok := pod.Labels[contract.PodIndexLabel]; ok && index != suffix {
		return "", fmt.Sprintf("its %s label %q is not its ordinal %d", contract.PodIndexLabel, index, ordinal)
	}
	if ordinal == 0 {
		return contract.RolePrimary, ""
	}
	return contract.RoleReplica, ""
}

// PodReady tells whether a pod's Ready condition holds.
func PodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
