// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/patch"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// BenchmarkFloor is the work no handler can skip for the minimal sample:
// decode the request's object and encode the completed object, once each.
// BenchmarkHandle is measured against it.
func BenchmarkFloor(b *testing.B) {
	raw := minimalJSON(b)
	var sts appsv1.StatefulSet
	if err := decode(raw, &sts); err != nil {
		b.Fatal(err)
	}
	res, err := mutate.DefaultConfig().Inject(&sts, nil)
	if err != nil {
		b.Fatal(err)
	}
	floor(b, raw, res.StatefulSet)
}

// BenchmarkFloorInjected is the same for the request of
// BenchmarkHandleInjected, whose object is the completed one.
func BenchmarkFloorInjected(b *testing.B) {
	raw, done := injected(b)
	floor(b, raw, done)
}

func floor(b *testing.B, raw []byte, done *appsv1.StatefulSet) {
	b.ReportAllocs()
	for b.Loop() {
		var sts appsv1.StatefulSet
		if err := decode(raw, &sts); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(done); err != nil {
			b.Fatal(err)
		}
	}
}

// injected returns the minimal sample completed, and its encoding.
func injected(b *testing.B) ([]byte, *appsv1.StatefulSet) {
	var sts appsv1.StatefulSet
	if err := json.Unmarshal(minimalJSON(b), &sts); err != nil {
		b.Fatal(err)
	}
	res, err := mutate.DefaultConfig().Inject(&sts, nil)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := json.Marshal(res.StatefulSet)
	if err != nil {
		b.Fatal(err)
	}
	return raw, res.StatefulSet
}

func BenchmarkHandle(b *testing.B) {
	m := newMutator()
	req := request(admissionv1.Create, stsKind, minimalJSON(b), nil)
	b.ReportAllocs()
	for b.Loop() {
		if resp := m.Handle(context.Background(), req); !resp.Allowed {
			b.Fatal(resp.Result)
		}
	}
}

func BenchmarkHandleInjected(b *testing.B) {
	m := newMutator()
	raw, _ := injected(b)
	req := request(admissionv1.Update, stsKind, raw, raw)
	b.ReportAllocs()
	for b.Loop() {
		if resp := m.Handle(context.Background(), req); !resp.Allowed || len(resp.Patches) > 0 {
			b.Fatal(resp.Result)
		}
	}
}

func BenchmarkPatch1000Env(b *testing.B) {
	var sts appsv1.StatefulSet
	if err := json.Unmarshal(minimalJSON(b), &sts); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		sts.Spec.Template.Spec.Containers[0].Env = append(sts.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: fmt.Sprintf("V%d", i), Value: "x"})
	}
	raw, _ := json.Marshal(&sts)
	res, err := mutate.DefaultConfig().Inject(&sts, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := patch.Create(raw, &sts, res.StatefulSet); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeHTTP includes the webhook's own AdmissionReview decoding
// and response encoding.
func BenchmarkServeHTTP(b *testing.B) {
	hook := newMutator().Webhook()
	obj := minimalJSON(b)
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid": "1", "operation": "CREATE", "namespace": "default",
			"kind":   map[string]string{"group": "apps", "version": "v1", "kind": "StatefulSet"},
			"object": json.RawMessage(obj),
		},
	})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, StatefulSetPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		hook.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
