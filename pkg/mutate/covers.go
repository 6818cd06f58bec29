// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"encoding/json"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
)

// covers reports whether have holds everything want sets, with the same
// values. Fields the API server defaults (or the user adds) beyond want do
// not count as a difference, so a stored, defaulted object covers what the
// webhook would inject and no warning is raised on every update.
func covers(have, want any) bool {
	// reflect.DeepEqual answers the common case (a stored object that
	// holds exactly what is injected) several times faster.
	if reflect.DeepEqual(have, want) || equality.Semantic.DeepEqual(have, want) {
		return true
	}
	h, errH := toGeneric(have)
	w, errW := toGeneric(want)
	if errH != nil || errW != nil {
		return false
	}
	return subset(w, h)
}

func toGeneric(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(raw, &out)
	return out, err
}

func subset(want, have any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			if !subset(wv, h[k]) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !subset(w[i], h[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(want, have)
	}
}
