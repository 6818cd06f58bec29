// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package patch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"gomodules.xyz/jsonpatch/v2"
)

// patchReference is the patch as it was computed before Create worked on
// encodings: every document decoded in full into generic values, then laid
// over and diffed. Create must return the same operations.
func patchReference(raw []byte, decoded, mutated any) ([]jsonpatch.Operation, error) {
	rawValue, err := refDecodeGeneric(raw)
	if err != nil {
		return nil, fmt.Errorf("reading the object: %w", err)
	}
	mutatedValue, err := refEncodeGeneric(mutated)
	if err != nil {
		return nil, fmt.Errorf("encoding the completed object: %w", err)
	}
	decodedJSON, err := json.Marshal(decoded)
	if err != nil {
		return nil, fmt.Errorf("encoding the object: %w", err)
	}
	decodedValue := rawValue
	if !bytes.Equal(bytes.TrimSpace(raw), decodedJSON) {
		// Otherwise the API server encoded it as this package does.
		if decodedValue, err = refDecodeGeneric(decodedJSON); err != nil {
			return nil, fmt.Errorf("encoding the object: %w", err)
		}
	}
	merged := refOverlay(rawValue, decodedValue, mutatedValue)
	return refDiff(rawValue, merged, "", nil), nil
}

func refDecodeGeneric(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func refEncodeGeneric(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return refDecodeGeneric(b)
}

// refOverlay returns mutated laid over raw: where the mutation left decoded
// (raw as this webhook's types read it) as it was, raw; elsewhere mutated,
// with raw's unknown fields kept on the objects they belong to.
func refOverlay(raw, decoded, mutated any) any {
	if reflect.DeepEqual(decoded, mutated) {
		return raw
	}
	switch m := mutated.(type) {
	case map[string]any:
		r, ok := raw.(map[string]any)
		if !ok {
			return mutated
		}
		d, _ := decoded.(map[string]any)
		out := make(map[string]any, len(m)+len(r))
		for k, rv := range r {
			if _, known := d[k]; !known {
				out[k] = rv // unknown to this webhook, or left out by its encoding
			}
		}
		for k, mv := range m {
			dv, inDecoded := d[k]
			rv, inRaw := r[k]
			switch {
			case inRaw:
				out[k] = refOverlay(rv, dv, mv)
			case inDecoded && reflect.DeepEqual(dv, mv):
				// Only this webhook's encoding writes it; raw leaves it out.
			default:
				out[k] = mv
			}
		}
		return out
	case []any:
		r, ok := raw.([]any)
		d, _ := decoded.([]any)
		if !ok || len(r) != len(d) {
			return mutated
		}
		return refOverlayList(r, d, m)
	default:
		return mutated
	}
}

// refOverlayList lays the items of mutated over those of raw they stand for:
// the item with the same key, else an unchanged item, else (when no item was
// added or removed) the item at the same index.
func refOverlayList(raw, decoded, mutated []any) []any {
	out := make([]any, len(mutated))
	if key := refListKey(decoded, mutated); key != nil {
		index := make(map[string]int, len(decoded))
		for i, d := range decoded {
			index[key(d)] = i
		}
		for j, m := range mutated {
			if i, ok := index[key(m)]; ok {
				out[j] = refOverlay(raw[i], decoded[i], m)
			} else {
				out[j] = m
			}
		}
		return out
	}
	if len(decoded) == len(mutated) {
		for i, m := range mutated {
			out[i] = refOverlay(raw[i], decoded[i], m)
		}
		return out
	}
	used := make([]bool, len(decoded))
	for j, m := range mutated {
		out[j] = m
		for i, d := range decoded {
			if !used[i] && reflect.DeepEqual(d, m) {
				used[i], out[j] = true, raw[i]
				break
			}
		}
	}
	return out
}

// refListKeys are the fields that name the items of the lists of a
// StatefulSet: containers, volumes, env by name, mounts by path, ports by
// number, claim templates by their metadata's name.
var refListKeys = [][]string{{"name"}, {"mountPath"}, {"containerPort"}, {"metadata", "name"}}

// refListKey returns the first key that every item of both lists has, once in
// each list; nil if none does.
func refListKey(lists ...[]any) func(any) string {
	for _, path := range refListKeys {
		key := func(item any) string {
			v := item
			for _, field := range path {
				m, ok := v.(map[string]any)
				if !ok {
					return ""
				}
				v = m[field]
			}
			switch s := v.(type) {
			case string:
				return s
			case json.Number:
				return s.String()
			}
			return ""
		}
		if refUniqueKeys(key, lists...) {
			return key
		}
	}
	return nil
}

func refUniqueKeys(key func(any) string, lists ...[]any) bool {
	for _, list := range lists {
		seen := make(map[string]bool, len(list))
		for _, item := range list {
			k := key(item)
			if k == "" || seen[k] {
				return false
			}
			seen[k] = true
		}
	}
	return true
}

// refDiff appends the operations that turn a into b, in a fixed order. A list
// that b only adds items to gets an add for each; any other changed list is
// compared index by index.
func refDiff(a, b any, path string, ops []jsonpatch.Operation) []jsonpatch.Operation {
	if refIdentical(a, b) {
		return ops
	}
	switch bt := b.(type) {
	case map[string]any:
		at, ok := a.(map[string]any)
		if !ok {
			return append(ops, jsonpatch.NewOperation("replace", path, b))
		}
		for _, k := range refSortedKeys(bt) {
			p := path + "/" + PointerToken(k)
			if av, ok := at[k]; ok {
				ops = refDiff(av, bt[k], p, ops)
			} else {
				ops = append(ops, jsonpatch.NewOperation("add", p, bt[k]))
			}
		}
		for _, k := range refSortedKeys(at) {
			if _, ok := bt[k]; !ok {
				ops = append(ops, jsonpatch.NewOperation("remove", path+"/"+PointerToken(k), nil))
			}
		}
		return ops
	case []any:
		at, ok := a.([]any)
		if !ok {
			return append(ops, jsonpatch.NewOperation("replace", path, b))
		}
		if added, ok := refInsertions(at, bt); ok {
			for _, j := range added {
				ops = append(ops, jsonpatch.NewOperation("add", path+"/"+strconv.Itoa(j), bt[j]))
			}
			return ops
		}
		n := min(len(at), len(bt))
		for i := len(at) - 1; i >= n; i-- {
			ops = append(ops, jsonpatch.NewOperation("remove", path+"/"+strconv.Itoa(i), nil))
		}
		for i := 0; i < n; i++ {
			ops = refDiff(at[i], bt[i], path+"/"+strconv.Itoa(i), ops)
		}
		for i := n; i < len(bt); i++ {
			ops = append(ops, jsonpatch.NewOperation("add", path+"/"+strconv.Itoa(i), bt[i]))
		}
		return ops
	default:
		if reflect.TypeOf(a) != reflect.TypeOf(b) || !reflect.DeepEqual(a, b) {
			return append(ops, jsonpatch.NewOperation("replace", path, b))
		}
		return ops
	}
}

// refInsertions reports whether b is a with items inserted, and at which
// indexes of b, in increasing order: adds at those indexes, applied in that
// order, turn a into b.
func refInsertions(a, b []any) ([]int, bool) {
	if len(b) < len(a) {
		return nil, false
	}
	var added []int
	i := 0
	for j := range b {
		if i < len(a) && reflect.DeepEqual(a[i], b[j]) {
			i++
			continue
		}
		added = append(added, j)
	}
	return added, i == len(a)
}

// refIdentical reports whether a and b are the same map or list, as where
// refOverlay kept raw's own.
func refIdentical(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	switch va.Kind() {
	case reflect.Map, reflect.Slice:
		return va.Kind() == vb.Kind() && va.Len() == vb.Len() && va.UnsafePointer() == vb.UnsafePointer()
	}
	return false
}

func refSortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
