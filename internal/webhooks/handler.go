// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package webhooks holds the admission handlers: the StatefulSet mutator
// (decode, complete with package mutate, answer with a JSON patch from
// package patch and warnings) and the pod role labeler.
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

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/patch"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// StatefulSetPath is where the webhook server serves the handler.
const StatefulSetPath = "/mutate-apps-v1-statefulset"

// StatefulSetMutator completes labeled StatefulSets on CREATE and UPDATE.
type StatefulSetMutator struct {
	Config mutate.Config
}

var _ admission.Handler = (*StatefulSetMutator)(nil)

// NewStatefulSetMutator returns a handler completing with cfg.
func NewStatefulSetMutator(cfg mutate.Config) *StatefulSetMutator {
	return &StatefulSetMutator{Config: cfg}
}

// Webhook wraps the handler for the webhook server: the answers are counted
// in the metrics, and a panic becomes an error response instead of a
// dropped connection.
func (m *StatefulSetMutator) Webhook() *admission.Webhook {
	return (&admission.Webhook{Handler: counted{"statefulset", encodedPatch{m}}}).WithRecoverPanic(true)
}

// encodedPatch answers with the patch already encoded (patch.Encode): the
// operations' values are mostly encodings of the completed object, written
// as they are, where encoding/json would validate and compact each of them
// twice.
type encodedPatch struct{ admission.Handler }

func (h encodedPatch) Handle(ctx context.Context, req admission.Request) admission.Response {
	resp := h.Handler.Handle(ctx, req)
	if len(resp.Patches) == 0 {
		return resp
	}
	encoded, err := patch.Encode(resp.Patches)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("encoding the patch: %w", err))
	}
	patchType := admissionv1.PatchTypeJSONPatch
	resp.Patches, resp.Patch, resp.PatchType = nil, encoded, &patchType
	return resp
}

// Handle answers one admission request. It decides in this order, and the
// first row that holds answers:
//
//	the request                                       the answer
//	is not for an apps/v1 StatefulSet                 error: the webhook configuration is wrong
//	is neither CREATE nor UPDATE                      allowed as it is
//	carries no object, or one that does not decode    error
//	is not labeled mysql-replication=enabled          allowed as it is
//	UPDATEs a StatefulSet that is being deleted       allowed as it is: deletion never waits on the webhook
//	is complete already (completing changes nothing)  allowed as it is, with the warnings
//	UPDATEs only what the mutation does not read      allowed as it is, even where it cannot be completed
//	  (spec, labels and annotations as stored)
//	cannot be completed                               denied, with what to change (an error if not the user's)
//	otherwise                                         patched to the completed object, with the warnings
//
// The stored object of an UPDATE is decoded at most once (see
// storedObject).
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
		return admission.Allowed("being deleted: left as it is")
	}

	// Completing an UPDATE reads the stored object: the fields that cannot
	// change, whether the webhook completed it before (its profile, its
	// parts, whether this change brings them up to date), and whether its
	// servers already run (adoption).
	stored := storedObject{req: req, sts: &sts}
	old, err := stored.get()
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	res, injectErr := m.Config.Inject(&sts, old)
	// reflect.DeepEqual is stricter than semantic equality and much cheaper;
	// what it calls different but is the same comes out as an empty patch.
	if injectErr == nil && reflect.DeepEqual(&sts, res.StatefulSet) {
		return admission.Allowed("already complete").WithWarnings(res.Warnings...)
	}

	if old != nil && unchanged(old, &sts) {
		return admission.Allowed("no change to what the mutation reads: left as it is")
	}

	if injectErr != nil {
		var inputErr *mutate.InputError
		if errors.As(injectErr, &inputErr) {
			return denied(string(inputErr.Reason()), inputErr.Error())
		}
		return admission.Errored(http.StatusInternalServerError, injectErr)
	}
	ops, err := patch.Create(req.Object.Raw, &sts, res.StatefulSet)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if len(ops) == 0 {
		return admission.Allowed("already complete").WithWarnings(res.Warnings...)
	}
	log.FromContext(ctx).V(1).Info("completed StatefulSet", "namespace", req.Namespace, "name", sts.Name, "operations", len(ops), "dryRun", req.DryRun != nil && *req.DryRun)
	return admission.Patched("", ops...).WithWarnings(res.Warnings...)
}

// storedObject is the stored StatefulSet of an UPDATE, decoded on first
// use; nil for a CREATE and for an UPDATE that does not carry it.
type storedObject struct {
	req admission.Request
	sts *appsv1.StatefulSet // the request's object, as decoded
	old *appsv1.StatefulSet
}

// get returns the stored object. Where the request sends the object as
// stored, byte for byte (a client's update with nothing changed), it is
// the request's own decoded object, not decoded again: completion reads it
// and changes only its copy, so one value serves as both.
func (o *storedObject) get() (*appsv1.StatefulSet, error) {
	if o.old != nil || o.req.Operation != admissionv1.Update || len(o.req.OldObject.Raw) == 0 {
		return o.old, nil
	}
	if bytes.Equal(o.req.OldObject.Raw, o.req.Object.Raw) {
		o.old = o.sts
		return o.old, nil
	}
	old := &appsv1.StatefulSet{}
	if err := decode(o.req.OldObject.Raw, old); err != nil {
		return nil, fmt.Errorf("decoding the stored StatefulSet: %w", err)
	}
	o.old = old
	return old, nil
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
