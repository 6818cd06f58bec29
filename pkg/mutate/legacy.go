// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	r61ddb15 "github.com/mysql-replication-webhook/mysql-replication-webhook/internal/legacy/r61ddb15/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// A StatefulSet completed before the record of injected parts existed
// carries contract.InjectorVersionAnnotation and no record. Its parts are
// recognised by rendering it again with the renderer of the release that
// completed it (kept, generated, in internal/legacy by
// hack/legacy-release.sh): a part that holds what that release injects for
// this StatefulSet is the webhook's; any other is the user's.

// injectedNames are the names of every part any release injects, so that
// an earlier release's renderer, given the StatefulSet without them,
// renders each again.
var (
	injectedContainers = []string{contract.InitMySQLContainer, contract.HelperInitContainer, contract.CloneMySQLContainer,
		contract.SidecarContainer, contract.MetricsContainer}
	injectedVolumes = []string{contract.ConfVolume, contract.ConfigMapVolume, contract.InitializedVolume, contract.HelperVolume,
		contract.TLSVolume, contract.MetricsVolume}
)

// recordOf is the record of the webhook's parts of sts: its own, or for a
// StatefulSet an earlier release completed without one, the record that
// release would have written, read from the stored object (on UPDATE) so
// that a part the user edits in this very change is theirs.
func (c Config) recordOf(sts, old *appsv1.StatefulSet) *partRecord {
	if rec := readRecord(sts.Annotations); rec != nil || sts.Annotations[contract.InjectorVersionAnnotation] == "" {
		return rec
	}
	if completed(old) && readRecord(old.Annotations) == nil {
		return c.legacyRecord(old)
	}
	return c.legacyRecord(sts)
}

// legacyRecord is the record the release before records would have written
// for sts: the digests of its parts that hold what that release injects.
// nil where that release cannot complete sts.
func (c Config) legacyRecord(sts *appsv1.StatefulSet) *partRecord {
	spec := sts.Spec.Template.Spec
	main, err := mainContainer(spec.Containers)
	if err != nil {
		return nil
	}
	bare := sts.DeepCopy()
	delete(bare.Annotations, contract.InjectorVersionAnnotation)
	bareSpec := &bare.Spec.Template.Spec
	injected := func(c corev1.Container) bool { return slices.Contains(injectedContainers, c.Name) }
	bareSpec.InitContainers = slices.DeleteFunc(bareSpec.InitContainers, injected)
	bareSpec.Containers = slices.DeleteFunc(bareSpec.Containers, func(c corev1.Container) bool { return c.Name != spec.Containers[main].Name && injected(c) })
	bareSpec.Volumes = slices.DeleteFunc(bareSpec.Volumes, func(v corev1.Volume) bool { return slices.Contains(injectedVolumes, v.Name) })
	db := spec.Containers[main].Name
	i := slices.IndexFunc(bareSpec.Containers, func(c corev1.Container) bool { return c.Name == db })
	bareSpec.Containers[i].StartupProbe, bareSpec.Containers[i].LivenessProbe, bareSpec.Containers[i].ReadinessProbe = nil, nil, nil

	res, err := r61ddb15.Config{XtrabackupImage: c.XtrabackupImage, HelperImage: c.HelperImage}.Inject(bare, nil)
	if err != nil {
		return nil
	}
	rendered := res.StatefulSet.Spec.Template.Spec
	rec := &partRecord{Release: "61ddb15", Parts: map[string]string{}}
	// A container's image comes from the configuration (and follows the
	// database image): it does not tell whose a container is.
	sameBesidesImage := func(have, want corev1.Container) bool {
		want.Image = have.Image
		return partDigest(have) == partDigest(want)
	}
	for _, w := range rendered.InitContainers {
		if h, ok := findIn(spec.InitContainers, func(c corev1.Container) bool { return c.Name == w.Name }); ok && injected(w) && sameBesidesImage(h, w) {
			rec.Parts[partKey(partInitContainer, w.Name)] = partDigest(h)
		}
	}
	for _, w := range rendered.Containers {
		if h, ok := findIn(spec.Containers, func(c corev1.Container) bool { return c.Name == w.Name }); ok && w.Name != db && injected(w) && sameBesidesImage(h, w) {
			rec.Parts[partKey(partContainer, w.Name)] = partDigest(h)
		}
	}
	for _, w := range rendered.Volumes {
		if h, ok := findIn(spec.Volumes, func(v corev1.Volume) bool { return v.Name == w.Name }); ok && slices.Contains(injectedVolumes, w.Name) && partDigest(h) == partDigest(w) {
			rec.Parts[partKey(partVolume, w.Name)] = partDigest(h)
		}
	}
	if w, ok := findIn(rendered.Containers, func(c corev1.Container) bool { return c.Name == db }); ok {
		wantProbes := probesOf(w)
		for field, h := range probesOf(spec.Containers[main]) {
			if w := wantProbes[field]; h != nil && w != nil && partDigest(h) == partDigest(w) {
				rec.Parts[probeKey(db, field)] = partDigest(h)
			}
		}
	}
	return rec
}
