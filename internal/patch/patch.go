// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package patch computes the JSON patch that turns an admission request's
// object into the object a webhook completed, holding the mutation and
// nothing else, and writes it as an AdmissionReview carries it.
//
// Create does not diff the request against the completed object's
// encoding, which knows only the fields of the webhook's API types: the
// completed object is laid over the request's own bytes instead. What the
// mutation left as it was keeps the request's bytes (fields a newer API
// server knows, and what only re-encoding would change: a null
// creationTimestamp, an empty status); list items are matched by name (or
// another key they share), so an unknown field stays on the container or
// volume it came with when the mutation inserts items before it.
package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
)

// Create returns the JSON patch that turns raw, the request's own bytes of
// decoded, into mutated. decoded is raw as the webhook's API types read it
// and mutated its completed copy; both are encoded with encoding/json.
//
// The completed object is encoded once and read only where raw has
// something to lay it over: what the mutation adds (the injected
// containers with their scripts) goes into the patch as the bytes of that
// encoding, never decoded. Where raw is encoded as encoding/json encodes
// decoded (as the API server does), two parts are equal exactly when their
// bytes are, and raw is never decoded either.
//
// What it rests on:
//   - Every encoding it reads is a whole output of encoding/json (of
//     decoded or mutated, or raw where raw is byte for byte decoded's
//     encoding): compact and valid, with keys in a fixed order. The
//     scanner finds where values end without validating them; what it
//     cannot read is an error, never a panic.
//   - The encodings are neither copied nor changed while Create runs, and
//     every value taken from one is a subslice of it: the address of a
//     value's first byte names that value, so the scanner remembers where
//     large objects and lists end by that address, and a value is the
//     same as another (not merely equal) when both start at one address.
//   - Where the mutation left a value as decoded, the overlay keeps raw's
//     own value (the same map, list or bytes), and the diff skips it by
//     that identity without comparing it.
func Create(raw []byte, decoded, mutated any) ([]jsonpatch.Operation, error) {
	mutatedJSON, err := json.Marshal(mutated)
	if err != nil {
		return nil, fmt.Errorf("encoding the completed object: %w", err)
	}
	decodedJSON, err := json.Marshal(decoded)
	if err != nil {
		return nil, fmt.Errorf("encoding the object: %w", err)
	}
	var rawValue any
	if trimmed := bytes.TrimSpace(raw); bytes.Equal(trimmed, decodedJSON) {
		rawValue = encoded(trimmed)
	} else if rawValue, err = decodeGeneric(raw); err != nil {
		return nil, fmt.Errorf("reading the object: %w", err)
	}
	s := &scanner{ends: make(map[*byte]int)}
	merged := s.overlay(rawValue, encoded(decodedJSON), encoded(mutatedJSON))
	ops := s.diff(rawValue, merged, "", nil)
	if s.err != nil {
		return nil, s.err
	}
	for i := range ops {
		if e, ok := ops[i].Value.(encoded); ok {
			ops[i].Value = json.RawMessage(e)
		}
	}
	return ops, nil
}

// Encode writes ops as json.Marshal does, with the values Create took from
// an encoding written as they are: json.Marshal would validate and compact
// each of them again.
func Encode(ops []jsonpatch.Operation) ([]byte, error) {
	size := 2
	for _, op := range ops {
		size += len(op.Path) + 40
		if v, ok := op.Value.(json.RawMessage); ok {
			size += len(v)
		}
	}
	out := make([]byte, 0, size)
	out = append(out, '[')
	for i, op := range ops {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"op":`...)
		out = appendString(out, op.Operation)
		out = append(out, `,"path":`...)
		out = appendString(out, op.Path)
		switch v := op.Value.(type) {
		case json.RawMessage:
			out = append(append(out, `,"value":`...), v...)
		case nil:
			if op.Operation == "add" || op.Operation == "replace" {
				out = append(out, `,"value":null`...)
			}
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			out = append(append(out, `,"value":`...), b...)
		}
		out = append(out, '}')
	}
	return append(out, ']'), nil
}

func appendString(out []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return append(out, b...)
}

func decodeGeneric(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// encoded is one JSON value as json.Marshal writes it (compact, keys in a
// fixed order), read only as far as it is looked into. Values are either
// encoded or generic (what decodeGeneric returns, with maps and lists that
// may hold encoded values); two encoded values are equal exactly when their
// bytes are.
type encoded []byte

// MarshalJSON writes the value as it is.
func (e encoded) MarshalJSON() ([]byte, error) { return e, nil }

// open returns v one level deep: an encoded object as a map and an encoded
// list as a slice, both of encoded values, an encoded scalar as the generic
// value; any other v as it is.
func (s *scanner) open(v any) any {
	e, ok := v.(encoded)
	if !ok {
		return v
	}
	if len(e) == 0 {
		s.fail(e)
		return nil
	}
	switch e[0] {
	case '{':
		m := make(map[string]any)
		for c := s.members(e); ; {
			key, value, ok := c.next()
			if !ok {
				return m
			}
			m[s.unquote(key)] = value
		}
	case '[':
		l := []any{}
		for c := s.members(e); ; {
			_, value, ok := c.next()
			if !ok {
				return l
			}
			l = append(l, value)
		}
	case '"':
		return s.unquote(e)
	case 't':
		return true
	case 'f':
		return false
	case 'n':
		return nil
	default:
		return json.Number(e)
	}
}

// field returns the value of key in an object, without opening the rest of
// it; nil when v is no object or has no such key.
func (s *scanner) field(v any, key string) any {
	e, ok := v.(encoded)
	if !ok {
		m, _ := v.(map[string]any)
		return m[key]
	}
	if len(e) == 0 || e[0] != '{' {
		return nil
	}
	for c := s.members(e); ; {
		k, value, ok := c.next()
		if !ok {
			return nil
		}
		if len(k) == len(key)+2 && string(k[1:len(k)-1]) == key || bytes.IndexByte(k, '\\') >= 0 && s.unquote(k) == key {
			return value
		}
	}
}

// members reads the members of an encoded object or list, one at a time.
type members struct {
	s      *scanner
	e      encoded
	i      int
	object bool
}

func (s *scanner) members(e encoded) members {
	return members{s: s, e: e, i: 1, object: e[0] == '{'}
}

// next returns the next member: its key (quoted; nil in a list) and its
// value. ok is false after the last one, and where the encoding cannot be
// read (the scanner records that).
func (c *members) next() (key []byte, value encoded, ok bool) {
	e, i := c.e, c.i
	if i >= len(e) {
		c.s.fail(e)
		return nil, nil, false
	}
	if e[i] == '}' || e[i] == ']' {
		return nil, nil, false
	}
	if c.object {
		end := skipString(e, i)
		if end >= len(e) || e[end] != ':' {
			c.s.fail(e)
			return nil, nil, false
		}
		key, i = e[i:end], end+1
	}
	end := c.s.skipValue(e, i)
	if end <= i || end >= len(e) {
		c.s.fail(e)
		return nil, nil, false
	}
	value = e[i:end]
	if e[end] == ',' {
		end++
	}
	c.i = end
	return key, value, true
}

// skipString returns the index after the string that starts at e[i].
func skipString(e []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(e[i:], '"')
		if j < 0 {
			return len(e)
		}
		i += j
		backslashes := 0
		for k := i - 1; e[k] == '\\'; k-- {
			backslashes++
		}
		i++
		if backslashes%2 == 0 {
			return i
		}
	}
}

// scanner opens the encodings Create lays over each other. They are opened
// level by level, and finding where a value ends means reading all of it:
// the scanner remembers where each large object or list ends, found in the
// one pass over the level that holds it, so that the levels below read no
// byte of it again.
type scanner struct {
	ends map[*byte]int // the length of each object or list of at least rememberedSize bytes, by its first byte
	err  error         // the first encoding it could not read
}

// errUnreadable: an encoding is not as encoding/json writes it.
var errUnreadable = errors.New("an encoding is not as encoding/json writes it")

const rememberedSize = 256

// skipValue returns the index after the value that starts at e[i].
func (s *scanner) skipValue(e []byte, i int) int {
	if i >= len(e) {
		return len(e)
	}
	switch e[i] {
	case '"':
		return skipString(e, i)
	case '{', '[':
		if n, ok := s.ends[&e[i]]; ok {
			return i + n
		}
		var stack [16]int
		starts := append(stack[:0], i) // of the objects and lists not yet closed
		for j := i + 1; j < len(e); {
			switch e[j] {
			case '"':
				j = skipString(e, j)
				continue
			case '{', '[':
				if n, ok := s.ends[&e[j]]; ok {
					j += n
					continue
				}
				starts = append(starts, j)
			case '}', ']':
				start := starts[len(starts)-1]
				starts = starts[:len(starts)-1]
				if j+1-start >= rememberedSize {
					s.ends[&e[start]] = j + 1 - start
				}
				if len(starts) == 0 {
					return j + 1
				}
			}
			j++
		}
		return len(e)
	default:
		for i < len(e) && e[i] != ',' && e[i] != '}' && e[i] != ']' {
			i++
		}
		return i
	}
}

// unquote returns the string s encodes.
func (s *scanner) unquote(b []byte) string {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		s.fail(b)
		return ""
	}
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b[1 : len(b)-1])
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		s.fail(b)
	}
	return out
}

// fail records that the scanner could not read b.
func (s *scanner) fail(b []byte) {
	if s.err == nil {
		s.err = fmt.Errorf("%w: %.40q", errUnreadable, b)
	}
}

// equal reports whether a and b hold the same JSON value, opening encoded
// values only as far as needed to find a difference.
func (s *scanner) equal(a, b any) bool {
	if ea, ok := a.(encoded); ok {
		if eb, ok := b.(encoded); ok {
			return bytes.Equal(ea, eb)
		}
	}
	switch at := s.open(a).(type) {
	case map[string]any:
		bt, ok := s.open(b).(map[string]any)
		if !ok || len(at) != len(bt) {
			return false
		}
		for k, av := range at {
			bv, ok := bt[k]
			if !ok || !s.equal(av, bv) {
				return false
			}
		}
		return true
	case []any:
		bt, ok := s.open(b).([]any)
		if !ok || len(at) != len(bt) {
			return false
		}
		for i := range at {
			if !s.equal(at[i], bt[i]) {
				return false
			}
		}
		return true
	default:
		switch s.open(b).(type) {
		case map[string]any, []any:
			return false
		}
		return at == s.open(b)
	}
}

// overlay returns mutated laid over raw: where the mutation left decoded
// (raw as this webhook's types read it) as it was, raw; elsewhere mutated,
// with raw's unknown fields kept on the objects they belong to.
func (s *scanner) overlay(raw, decoded, mutated any) any {
	if s.equal(decoded, mutated) {
		return raw
	}
	switch m := s.open(mutated).(type) {
	case map[string]any:
		r, ok := s.open(raw).(map[string]any)
		if !ok {
			return mutated
		}
		d, _ := s.open(decoded).(map[string]any)
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
				out[k] = s.overlay(rv, dv, mv)
			case inDecoded && s.equal(dv, mv):
				// Only this webhook's encoding writes it; raw leaves it out.
			default:
				out[k] = mv
			}
		}
		return out
	case []any:
		r, ok := s.open(raw).([]any)
		d, _ := s.open(decoded).([]any)
		if !ok || len(r) != len(d) {
			return mutated
		}
		return s.overlayList(r, d, m)
	default:
		return mutated
	}
}

// overlayList lays the items of mutated over those of raw they stand for:
// the item with the same key, else an unchanged item, else (when no item was
// added or removed) the item at the same index.
func (s *scanner) overlayList(raw, decoded, mutated []any) []any {
	out := make([]any, len(mutated))
	if keys := s.listKeysOf(decoded, mutated); keys != nil {
		index := make(map[string]int, len(decoded))
		for i, k := range keys[0] {
			index[k] = i
		}
		for j, m := range mutated {
			if i, ok := index[keys[1][j]]; ok {
				out[j] = s.overlay(raw[i], decoded[i], m)
			} else {
				out[j] = m
			}
		}
		return out
	}
	if len(decoded) == len(mutated) {
		for i, m := range mutated {
			out[i] = s.overlay(raw[i], decoded[i], m)
		}
		return out
	}
	used := make([]bool, len(decoded))
	for j, m := range mutated {
		out[j] = m
		for i, d := range decoded {
			if !used[i] && s.equal(d, m) {
				used[i], out[j] = true, raw[i]
				break
			}
		}
	}
	return out
}

// listKeys are the fields that name the items of the lists of a
// StatefulSet: containers, volumes, env by name, mounts by path, ports by
// number, claim templates by their metadata's name.
var listKeys = [][]string{{"name"}, {"mountPath"}, {"containerPort"}, {"metadata", "name"}}

// listKeysOf returns, for each list, the keys of its items by the first
// key that every item of every list has, once in each list; nil if none
// does.
func (s *scanner) listKeysOf(lists ...[]any) [][]string {
	for _, path := range listKeys {
		keys := make([][]string, len(lists))
		unique := true
		for l, list := range lists {
			keys[l] = make([]string, len(list))
			for i, item := range list {
				k := s.itemKey(item, path)
				if k == "" || slices.Contains(keys[l][:i], k) {
					unique = false
					break
				}
				keys[l][i] = k
			}
			if !unique {
				break
			}
		}
		if unique {
			return keys
		}
	}
	return nil
}

func (s *scanner) itemKey(item any, path []string) string {
	v := item
	for _, f := range path {
		if v = s.field(v, f); v == nil {
			return ""
		}
	}
	switch s := s.open(v).(type) {
	case string:
		return s
	case json.Number:
		return s.String()
	}
	return ""
}

// diff appends the operations that turn a into b, in a fixed order. A list
// that b only adds items to gets an add for each; any other changed list is
// compared index by index.
func (s *scanner) diff(a, b any, path string, ops []jsonpatch.Operation) []jsonpatch.Operation {
	if identical(a, b) {
		return ops
	}
	switch bt := s.open(b).(type) {
	case map[string]any:
		at, ok := s.open(a).(map[string]any)
		if !ok {
			return append(ops, jsonpatch.NewOperation("replace", path, b))
		}
		for _, k := range sortedKeys(bt) {
			p := path + "/" + PointerToken(k)
			if av, ok := at[k]; ok {
				ops = s.diff(av, bt[k], p, ops)
			} else {
				ops = append(ops, jsonpatch.NewOperation("add", p, bt[k]))
			}
		}
		for _, k := range sortedKeys(at) {
			if _, ok := bt[k]; !ok {
				ops = append(ops, jsonpatch.NewOperation("remove", path+"/"+PointerToken(k), nil))
			}
		}
		return ops
	case []any:
		at, ok := s.open(a).([]any)
		if !ok {
			return append(ops, jsonpatch.NewOperation("replace", path, b))
		}
		if added, ok := s.insertions(at, bt); ok {
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
			ops = s.diff(at[i], bt[i], path+"/"+strconv.Itoa(i), ops)
		}
		for i := n; i < len(bt); i++ {
			ops = append(ops, jsonpatch.NewOperation("add", path+"/"+strconv.Itoa(i), bt[i]))
		}
		return ops
	default:
		if !s.equal(a, b) {
			return append(ops, jsonpatch.NewOperation("replace", path, b))
		}
		return ops
	}
}

// insertions reports whether b is a with items inserted, and at which
// indexes of b, in increasing order: adds at those indexes, applied in that
// order, turn a into b.
func (s *scanner) insertions(a, b []any) ([]int, bool) {
	if len(b) < len(a) {
		return nil, false
	}
	var added []int
	i := 0
	for j := range b {
		if i < len(a) && s.equal(a[i], b[j]) {
			i++
			continue
		}
		added = append(added, j)
	}
	return added, i == len(a)
}

// identical reports whether a and b are the same map, list or encoding, as
// where overlay kept raw's own.
func identical(a, b any) bool {
	switch at := a.(type) {
	case map[string]any:
		bt, ok := b.(map[string]any)
		return ok && len(at) == len(bt) && reflect.ValueOf(at).UnsafePointer() == reflect.ValueOf(bt).UnsafePointer()
	case []any:
		bt, ok := b.([]any)
		return ok && len(at) == len(bt) && (len(at) == 0 || &at[0] == &bt[0])
	case encoded:
		bt, ok := b.(encoded)
		return ok && len(at) == len(bt) && &at[0] == &bt[0]
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// PointerToken writes a key as a JSON pointer token (RFC 6901): "~" as
// "~0" and "/" as "~1".
func PointerToken(key string) string { return pointerEscaper.Replace(key) }
