// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package webhooks

import (
	"context"
	"fmt"
	"net/http"

	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/patch"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// PodPath is where the webhook server serves the pod role labeler.
const PodPath = "/mutate-v1-pod"

// PodRoleLabeler owns the role label of pods (contract.RoleLabel), which
// the primary and replicas Services select on. It labels the pods of
// injected StatefulSets with their role when they are created (primary for
// ordinal 0, replica otherwise), so the Services select them from their
// first moment, and no pod has a role it is not entitled to
// (mutate.PodRole): a role label on any other pod is removed when it is
// created, and an UPDATE that sets one, changes one or takes one away from
// a pod entitled to it is denied.
type PodRoleLabeler struct {
	decoder admission.Decoder
}

var _ admission.Handler = (*PodRoleLabeler)(nil)

// NewPodRoleLabeler returns a handler decoding with the given scheme.
func NewPodRoleLabeler(scheme *runtime.Scheme) *PodRoleLabeler {
	return &PodRoleLabeler{decoder: admission.NewDecoder(scheme)}
}

// Webhook wraps the handler for the webhook server.
func (p *PodRoleLabeler) Webhook() *admission.Webhook {
	return (&admission.Webhook{Handler: counted{"pod", p}}).WithRecoverPanic(true)
}

// roleLabelReason is the reason of the pod webhook's denials: a change
// of the role label that the pod is not entitled to.
const roleLabelReason = "role-label"

// rolePath is the JSON pointer of the role label.
var rolePath = "/metadata/labels/" + patch.PointerToken(contract.RoleLabel)

// Handle answers one admission request for a pod.
func (p *PodRoleLabeler) Handle(_ context.Context, req admission.Request) admission.Response {
	if req.Kind.Group != "" || req.Kind.Kind != "Pod" {
		return admission.Errored(http.StatusBadRequest,
			fmt.Errorf("this webhook labels v1 Pods only, not %s; check the rules of the MutatingWebhookConfiguration", req.Kind.String()))
	}
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	var pod corev1.Pod
	if err := p.decoder.DecodeRaw(req.Object, &pod); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the Pod: %w", err))
	}
	role, why := mutate.PodRole(&pod)
	have, labeled := pod.Labels[contract.RoleLabel]
	if req.Operation == admissionv1.Update {
		return p.update(req, &pod, role, why)
	}
	switch {
	case role != "" && have == role:
		return admission.Allowed("role already set")
	case role != "":
		return admission.Patched("", jsonpatch.NewOperation("add", rolePath, role))
	case labeled:
		return admission.Patched("", jsonpatch.NewOperation("remove", rolePath, nil)).WithWarnings(fmt.Sprintf(
			"pod %q: label %s removed: only the pods a StatefulSet completed by the webhook creates carry it, and %s",
			pod.Name, contract.RoleLabel, why))
	case pod.Labels[contract.StatefulSetLabel] != "":
		return admission.Allowed("").WithWarnings(fmt.Sprintf(
			"pod %q: no %s label, because %s: the primary and replicas Services will not select it", pod.Name, contract.RoleLabel, why))
	default:
		return admission.Allowed("no role")
	}
}

// update admits an UPDATE that leaves the role label and the StatefulSet
// label as they were, or that keeps the role the pod is entitled to.
func (p *PodRoleLabeler) update(req admission.Request, pod *corev1.Pod, role, why string) admission.Response {
	var old corev1.Pod
	if err := p.decoder.DecodeRaw(req.OldObject, &old); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the stored Pod: %w", err))
	}
	have, was := pod.Labels[contract.RoleLabel], old.Labels[contract.RoleLabel]
	if have == was && pod.Labels[contract.StatefulSetLabel] == old.Labels[contract.StatefulSetLabel] {
		return admission.Allowed("role label unchanged")
	}
	switch {
	case role != "" && have == role:
		return admission.Allowed("the role the pod is entitled to")
	case role != "":
		return denied(roleLabelReason, fmt.Sprintf("pod %q is the %s of its StatefulSet: its label %s must stay %q", pod.Name, role, contract.RoleLabel, role))
	case have == "":
		return admission.Allowed("no role")
	default:
		return denied(roleLabelReason, fmt.Sprintf("pod %q may not carry label %s=%s: only the pods a StatefulSet completed by the webhook creates carry it, and %s",
			pod.Name, contract.RoleLabel, have, why))
	}
}
