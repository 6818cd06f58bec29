// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package recovery recovers the primary of a StatefulSet whose pod 0 lost
// its data: it names the replicas pod 0 may clone in ConfigMap
// <name>-initialized and restarts pod 0, whose clone-mysql then clones the
// replica holding the most transactions and makes the clone the primary.
package recovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// ErrRefused: the StatefulSet's state does not allow a recovery; the
// message says what to do.
var ErrRefused = errors.New("cannot recover the primary")

// Plan is what Request did.
type Plan struct {
	// ConfigMap is <name>-initialized, which now names the candidates.
	ConfigMap string
	// Pod is pod 0, deleted so that it starts again with them.
	Pod string
	// Candidates are the ordinals of the replicas pod 0 may clone.
	Candidates []int
}

// Request asks pod 0 of StatefulSet key to recover from its replicas:
// every replica the StatefulSet has, except the ordinals in without, which
// must be pods that are not running (a running replica left out could
// hold more than the one chosen, and would replicate from a primary that
// lacks it).
func Request(ctx context.Context, c client.Client, key types.NamespacedName, without []int) (*Plan, error) {
	var sts appsv1.StatefulSet
	if err := c.Get(ctx, key, &sts); err != nil {
		return nil, fmt.Errorf("reading StatefulSet %s: %w", key, err)
	}
	if !mutate.Enabled(&sts) {
		return nil, fmt.Errorf("%w: StatefulSet %s is not labeled %s=%s", ErrRefused, key, contract.EnabledLabel, contract.EnabledValue)
	}
	prof, err := mutate.StatefulSetProfile(&sts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if !prof.Replication.ChecksDivergence() {
		return nil, fmt.Errorf("%w: profile %s positions replicas by binary log file and position, which cannot tell which replica holds the most; restore pod 0's volume from a backup (README: \"An empty primary\")",
			ErrRefused, prof.Name)
	}
	replicas := int32(1)
	if sts.Spec.Replicas != nil {
		replicas = *sts.Spec.Replicas
	}
	var candidates []int
	for i := 1; i < int(replicas); i++ {
		if !slices.Contains(without, i) {
			candidates = append(candidates, i)
		}
	}
	for _, i := range without {
		if i < 1 || i >= int(replicas) {
			return nil, fmt.Errorf("%w: StatefulSet %s has no replica %d (replicas 1 to %d)", ErrRefused, key, i, replicas-1)
		}
		pod, err := getPod(ctx, c, key.Namespace, fmt.Sprintf("%s-%d", sts.Name, i))
		if err != nil {
			return nil, err
		}
		if pod != nil && pod.Status.Phase == corev1.PodRunning {
			return nil, fmt.Errorf("%w: pod %s is running: it must be a candidate (it may hold more than the others); leave out only replicas that are gone",
				ErrRefused, pod.Name)
		}
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("%w: StatefulSet %s has no replica to recover pod 0 from (replicas: %d)", ErrRefused, key, replicas)
	}

	var marker corev1.ConfigMap
	markerKey := types.NamespacedName{Namespace: key.Namespace, Name: mutate.InitializedConfigMapName(&sts)}
	if err := c.Get(ctx, markerKey, &marker); apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: ConfigMap %s does not exist: pod 0 has never been ready, and starts by itself", ErrRefused, markerKey)
	} else if err != nil {
		return nil, fmt.Errorf("reading ConfigMap %s: %w", markerKey, err)
	}
	podName := sts.Name + "-0"
	pod, err := getPod(ctx, c, key.Namespace, podName)
	if err != nil {
		return nil, err
	}
	if pod != nil && ready(pod) {
		return nil, fmt.Errorf("%w: pod %s is ready: the primary has its data; recovery is for a pod 0 that refused to start on an empty data directory",
			ErrRefused, podName)
	}

	words := make([]string, len(candidates))
	for i, o := range candidates {
		words[i] = strconv.Itoa(o)
	}
	patch := client.MergeFrom(marker.DeepCopy())
	if marker.Data == nil {
		marker.Data = map[string]string{}
	}
	marker.Data[contract.RecoverFromKey] = strings.Join(words, " ")
	if err := c.Patch(ctx, &marker, patch); err != nil {
		return nil, fmt.Errorf("naming the candidates in ConfigMap %s: %w", markerKey, err)
	}
	if pod != nil {
		if err := c.Delete(ctx, pod, client.Preconditions{UID: &pod.UID}); client.IgnoreNotFound(err) != nil {
			return nil, fmt.Errorf("deleting pod %s/%s so that it starts again: %w", key.Namespace, podName, err)
		}
	}
	return &Plan{ConfigMap: markerKey.Name, Pod: podName, Candidates: candidates}, nil
}

// Finish waits until pod 0 of StatefulSet key is ready, then removes the
// candidates from ConfigMap <name>-initialized: a later loss of the
// primary's data is refused again until someone asks for a recovery.
func Finish(ctx context.Context, c client.Client, key types.NamespacedName, progress func(string)) error {
	podName := key.Name + "-0"
	last := ""
	err := wait.PollUntilContextCancel(ctx, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		pod, err := getPod(ctx, c, key.Namespace, podName)
		if err != nil {
			return false, err
		}
		if pod != nil && ready(pod) {
			return true, nil
		}
		if msg := state(pod); msg != last && progress != nil {
			progress(msg)
			last = msg
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for pod %s/%s to be ready (ConfigMap %s%s keeps key %s; remove it once the pod is ready): %w",
			key.Namespace, podName, key.Name, contract.InitializedTail, contract.RecoverFromKey, err)
	}
	return Forget(ctx, c, key)
}

// Forget removes the candidates from ConfigMap <name>-initialized.
func Forget(ctx context.Context, c client.Client, key types.NamespacedName) error {
	var marker corev1.ConfigMap
	markerKey := types.NamespacedName{Namespace: key.Namespace, Name: key.Name + contract.InitializedTail}
	if err := c.Get(ctx, markerKey, &marker); err != nil {
		return client.IgnoreNotFound(err)
	}
	if _, ok := marker.Data[contract.RecoverFromKey]; !ok {
		return nil
	}
	patch := client.MergeFrom(marker.DeepCopy())
	delete(marker.Data, contract.RecoverFromKey)
	if err := c.Patch(ctx, &marker, patch); err != nil {
		return fmt.Errorf("removing key %s from ConfigMap %s: %w", contract.RecoverFromKey, markerKey, err)
	}
	return nil
}

func getPod(ctx context.Context, c client.Client, ns, name string) (*corev1.Pod, error) {
	var pod corev1.Pod
	err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &pod)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading pod %s/%s: %w", ns, name, err)
	}
	return &pod, nil
}

// ready: pod 0 is ready, and not a pod on its way out.
func ready(pod *corev1.Pod) bool { return mutate.PodReady(pod) && pod.DeletionTimestamp == nil }

// state says where pod 0 is: which init container runs, or its phase.
func state(pod *corev1.Pod) string {
	if pod == nil {
		return "pod 0 is being created"
	}
	for _, st := range pod.Status.InitContainerStatuses {
		switch {
		case st.State.Running != nil:
			return fmt.Sprintf("pod %s: %s runs", pod.Name, st.Name)
		case st.State.Waiting != nil && st.State.Waiting.Reason != "PodInitializing":
			return fmt.Sprintf("pod %s: %s waits (%s)", pod.Name, st.Name, st.State.Waiting.Reason)
		}
	}
	return fmt.Sprintf("pod %s: %s", pod.Name, pod.Status.Phase)
}
