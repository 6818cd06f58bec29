// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/fixtures"
)

// FuzzMutate feeds arbitrary StatefulSets to Inject: it never panics, fails
// only with an InputError, and injecting its own output changes nothing.
func FuzzMutate(f *testing.F) {
	for _, raw := range fixtures.StatefulSets() {
		if j, err := yaml.YAMLToJSON(raw); err == nil {
			f.Add(j)
		}
	}
	f.Add([]byte(`{"metadata":{"name":"a"},"spec":{"template":{"spec":{"containers":[{"name":"x"},{"name":"y"}]}}}}`))
	f.Add([]byte(`{"metadata":{"name":"a","annotations":{"mysql-replication.io/flavor":"mariadb"}},"spec":{"template":{"spec":{"initContainers":[{"name":"clone-mysql"}],"containers":[{"name":"mysql","image":"mariadb"}]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var sts appsv1.StatefulSet
		if err := json.Unmarshal(data, &sts); err != nil {
			return
		}
		cfg := DefaultConfig()
		first, err := cfg.Inject(&sts, nil)
		if err != nil {
			var inputErr *InputError
			if !errors.As(err, &inputErr) {
				t.Fatalf("error is not an InputError: %v", err)
			}
			if !slices.Contains(Reasons(), inputErr.Reason()) {
				t.Fatalf("reason %q is none of Reasons()", inputErr.Reason())
			}
			return
		}
		second, err := cfg.Inject(first.StatefulSet, first.StatefulSet)
		if err != nil {
			t.Fatalf("injecting the output failed: %v", err)
		}
		if !equality.Semantic.DeepEqual(first.StatefulSet, second.StatefulSet) {
			t.Fatalf("not idempotent")
		}
		_, _ = BuildCompanions(first.StatefulSet)
	})
}
