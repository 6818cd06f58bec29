// Package webhooks serves the mutating admission webhook: it decodes the
// StatefulSet of an AdmissionReview, completes it with package mutate and
// answers with a JSON patch and warnings.
package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	kjson "sigs.k8s.io/json"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// Path is where the webhook server serves the handler.
const Path = "/mutate-apps-v1-statefulset"

// StatefulSetMutator completes labeled StatefulSets on CREATE and UPDATE.
type StatefulSetMutator struct {
	Config mutate.Config
}

var _ admission.Handler = (*StatefulSetMutator)(nil)

// NewStatefulSetMutator returns a handler completing with cfg.
func NewStatefulSetMutator(cfg mutate.Config) *StatefulSetMutator {
	return &StatefulSetMutator{Config: cfg}
}

// Webhook wraps the handler for the webhook server; a panic becomes an error
// response instead of a dropped connection.
func (m *StatefulSetMutator) Webhook() *admission.Webhook {
	return (&admission.Webhook{Handler: encodedPatch{m}}).WithRecoverPanic(true)
}

// encodedPatch answers with the patch already encoded: the operations'
// values are mostly encodings of the completed object, written as they are,
// where encoding/json would validate and compact each of them twice.
type encodedPatch struct{ admission.Handler }

func (h encodedPatch) Handle(ctx context.Context, req admission.Request) admission.Response {
	resp := h.Handler.Handle(ctx, req)
	if len(resp.Patches) == 0 {
		return resp
	}
	patch, err := encodePatch(resp.Patches)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("encoding the patch: %w", err))
	}
	patchType := admissionv1.PatchTypeJSONPatch
	resp.Patches, resp.Patch, resp.PatchType = nil, patch, &patchType
	return resp
}

// Handle answers one admission request.
func (m *StatefulSetMutator) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Kind.Group != appsv1.GroupName || req.Kind.Kind != "StatefulSet" {
		return admission.Errored(http.StatusBadRequest,
			fmt.Errorf("this webhook mutates apps/v1 StatefulSets only, not %s; check the rules of the MutatingWebhookConfiguration", req.Kind.String()))
	}
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	if len(req.Object.Raw) == 0 {
		return admission.Errored(http.StatusBadRequest, errors.New("the admission request carries no object"))
	}
	var sts appsv1.StatefulSet
	if err := decode(req.Object.Raw, &sts); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the StatefulSet: %w", err))
	}
	if !mutate.Enabled(&sts) {
		return admission.Allowed(fmt.Sprintf("not labeled %s=%s", contract.EnabledLabel, contract.EnabledValue))
	}
	if req.Operation == admissionv1.Update && sts.DeletionTimestamp != nil {
		// An object being deleted is left as it is, whatever it holds: the
		// removal of its last finalizer must go through, or deletion hangs.
		return admission.Allowed("being deleted: left as it is")
	}
	// The stored object is decoded only when it is needed: to complete the
	// fields that cannot change after creation, or to let through an UPDATE
	// the mutation would change or deny but that changes nothing it reads.
	var stored *appsv1.StatefulSet
	readStored := func() error {
		if stored != nil || req.Operation != admissionv1.Update || len(req.OldObject.Raw) == 0 {
			return nil
		}
		if bytes.Equal(req.OldObject.Raw, req.Object.Raw) {
			// An UPDATE that sends the object as stored (a client's
			// update with nothing changed): decoded once, read by both
			// sides, changed by neither (Inject changes only its copy).
			stored = &sts
			return nil
		}
		stored = &appsv1.StatefulSet{}
		if err := decode(req.OldObject.Raw, stored); err != nil {
			return fmt.Errorf("decoding the stored StatefulSet: %w", err)
		}
		return nil
	}
	if mutate.NeedsStored(&sts) {
		if err := readStored(); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}

	res, err := m.Config.Inject(&sts, stored)
	// reflect.DeepEqual is stricter than semantic equality and much cheaper;
	// what it calls different but is the same comes out as an empty patch.
	if err == nil && reflect.DeepEqual(&sts, res.StatefulSet) {
		return admission.Allowed("already complete").WithWarnings(res.Warnings...)
	}
	if err := readStored(); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if stored != nil && unchanged(stored, &sts) {
		return admission.Allowed("no change to what the mutation reads: left as it is")
	}
	if err != nil {
		var inputErr *mutate.InputError
		if errors.As(err, &inputErr) {
			return admission.Denied(inputErr.Error())
		}
		return admission.Errored(http.StatusInternalServerError, err)
	}
	patch, err := Patch(req.Object.Raw, &sts, res.StatefulSet)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if len(patch) == 0 {
		return admission.Allowed("already complete").WithWarnings(res.Warnings...)
	}
	log.FromContext(ctx).V(1).Info("completed StatefulSet", "namespace", req.Namespace, "name", sts.Name, "operations", len(patch), "dryRun", req.DryRun != nil && *req.DryRun)
	return admission.Patched("", patch...).WithWarnings(res.Warnings...)
}

// unchanged reports whether an UPDATE leaves the spec, the labels and the
// annotations as stored: it changes only what the mutation does not read
// (finalizers, owner references, status), so it passes as it is, even for
// an object the webhook could not complete.
func unchanged(old, sts *appsv1.StatefulSet) bool {
	same := func(a, b any) bool { return reflect.DeepEqual(a, b) || equality.Semantic.DeepEqual(a, b) }
	return same(&old.Spec, &sts.Spec) && same(old.Labels, sts.Labels) && same(old.Annotations, sts.Annotations)
}

// decode reads a StatefulSet as the API server's JSON serializer does (case
// sensitive, integers kept), without first scanning the whole document for
// its kind: the request already names it.
func decode(raw []byte, sts *appsv1.StatefulSet) error {
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, sts); err != nil {
		return err
	}
	if sts.Kind != "" && sts.Kind != "StatefulSet" {
		return fmt.Errorf("the object is a %s", sts.Kind)
	}
	return nil
}
