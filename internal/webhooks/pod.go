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

// PodRoleLabeler labels the pods of injected StatefulSets with their role
// (primary for ordinal 0, replica otherwise) when they are created, so the
// primary and replicas Services select them from their first moment.
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
	return (&admission.Webhook{Handler: p}).WithRecoverPanic(true)
}

// Handle answers one admission request for a pod.
func (p *PodRoleLabeler) Handle(_ context.Context, req admission.Request) admission.Response {
	if req.Kind.Group != "" || req.Kind.Kind != "Pod" {
		return admission.Errored(http.StatusBadRequest,
			fmt.Errorf("this webhook labels v1 Pods only, not %s; check the rules of the MutatingWebhookConfiguration", req.Kind.String()))
	}
	if req.Operation != admissionv1.Create {
		return admission.Allowed("")
	}
	var pod corev1.Pod
	if err := p.decoder.DecodeRaw(req.Object, &pod); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the Pod: %w", err))
	}
	if pod.Labels[contract.StatefulSetLabel] == "" {
		return admission.Allowed("not a pod of an injected StatefulSet")
	}
	role, ok := mutate.PodRole(&pod)
	if !ok {
		return admission.Allowed("").WithWarnings(fmt.Sprintf(
			"pod %q: no ordinal in label %s or in its name, so no %s label: the primary and replicas Services will not select it",
			pod.Name, contract.PodIndexLabel, contract.RoleLabel))
	}
	if pod.Labels[contract.RoleLabel] == role {
		return admission.Allowed("role already set")
	}
	path := "/metadata/labels/" + patch.PointerToken(contract.RoleLabel)
	return admission.Patched("", jsonpatch.NewOperation("add", path, role))
}
