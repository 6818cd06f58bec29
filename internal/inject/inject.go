// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package inject applies the webhook's mutation offline: it reads manifests,
// completes every StatefulSet in them and writes the result with the
// StatefulSet's companion objects, like istioctl kube-inject.
package inject

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	appsv1 "k8s.io/api/apps/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// MaxInputBytes bounds what Run reads; larger input is an error.
const MaxInputBytes = 16 << 20

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// labeled reports whether the object in raw carries the webhook's label,
// and its name; what does not decode is read as absent.
func labeled(raw []byte) (string, bool) {
	var obj struct {
		Metadata struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	_ = yaml.Unmarshal(raw, &obj)
	return obj.Metadata.Name, obj.Metadata.Labels[contract.EnabledLabel] == contract.EnabledValue
}

// Option changes what Run does.
type Option func(*options)

type options struct {
	notes io.Writer
}

// Notes has Run write to w what a user should know about the input and that
// is not an error: a labeled object that is not a StatefulSet, and the
// warnings admission would answer with.
func Notes(w io.Writer) Option {
	return func(o *options) { o.notes = w }
}

// Run reads YAML or JSON documents from r and writes them to w as YAML
// documents: each StatefulSet completed (and labeled for the webhook) and
// followed by its ConfigMap, headless Service and read Service; any other
// object unchanged. Nothing is written unless every document is good, and
// input beyond MaxInputBytes is an error.
func Run(r io.Reader, w io.Writer, cfg mutate.Config, opts ...Option) error {
	o := options{notes: io.Discard}
	for _, opt := range opts {
		opt(&o)
	}
	input, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return fmt.Errorf("reading the input: %w", err)
	}
	if len(input) > MaxInputBytes {
		return fmt.Errorf("the input is larger than %d MiB: split it and run inject on each part", MaxInputBytes>>20)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(input)))
	var out, notes bytes.Buffer
	count := 0
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("document %d: reading YAML: %w", doc, err)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		objs, docNotes, err := injectDocument(raw, cfg)
		if err != nil {
			return fmt.Errorf("document %d: %w", doc, err)
		}
		for _, note := range docNotes {
			fmt.Fprintf(&notes, "document %d: %s\n", doc, note)
		}
		for _, obj := range objs {
			if count > 0 {
				out.WriteString("---\n")
			}
			out.Write(obj)
			count++
		}
	}
	if count == 0 {
		return errors.New("no object found in the input")
	}
	if _, err := w.Write(out.Bytes()); err != nil {
		return err
	}
	_, err = o.notes.Write(notes.Bytes())
	return err
}

// injectDocument returns the documents one input document becomes, and
// what the user should be told about it.
func injectDocument(raw []byte, cfg mutate.Config) ([][]byte, []string, error) {
	var tm typeMeta
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		return nil, nil, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	if tm.Kind == "" || tm.APIVersion == "" {
		return nil, nil, errors.New("not a Kubernetes object: apiVersion and kind are required")
	}
	if tm.Kind != "StatefulSet" {
		var notes []string
		if name, ok := labeled(raw); ok {
			notes = append(notes, fmt.Sprintf("%s %q is labeled %s=%s, but only StatefulSets are completed: it is written unchanged",
				tm.Kind, name, contract.EnabledLabel, contract.EnabledValue))
		}
		j, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", tm.Kind, err)
		}
		clean, err := yaml.JSONToYAML(j)
		return [][]byte{clean}, notes, err
	}
	if tm.APIVersion != "apps/v1" {
		return nil, nil, fmt.Errorf("StatefulSet has apiVersion %q: use apps/v1", tm.APIVersion)
	}
	var sts appsv1.StatefulSet
	if err := yaml.UnmarshalStrict(raw, &sts); err != nil {
		return nil, nil, fmt.Errorf("decoding the StatefulSet: %w", err)
	}
	if sts.Labels == nil {
		sts.Labels = map[string]string{}
	}
	sts.Labels[contract.EnabledLabel] = contract.EnabledValue
	res, err := cfg.Inject(&sts, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("StatefulSet %q: %w", sts.Name, err)
	}
	var notes []string
	for _, w := range res.Warnings {
		notes = append(notes, fmt.Sprintf("StatefulSet %q: warning: %s", sts.Name, w))
	}
	companions, err := mutate.BuildCompanions(res.StatefulSet)
	if err != nil {
		return nil, nil, fmt.Errorf("StatefulSet %q: %w", sts.Name, err)
	}
	var docs [][]byte
	for _, obj := range append([]any{res.StatefulSet}, objectsOf(companions)...) {
		b, err := Marshal(obj)
		if err != nil {
			return nil, nil, err
		}
		docs = append(docs, b)
	}
	return docs, notes, nil
}

// Marshal writes an object as YAML without what encoding adds on its own:
// null fields and the status.
func Marshal(obj any) ([]byte, error) {
	j, err := yaml.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	var generic map[string]any
	if err := yaml.Unmarshal(j, &generic); err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	delete(generic, "status")
	dropNulls(generic)
	return yaml.Marshal(generic)
}

// emptyByEncoding are keys whose empty value encoding writes for an unset
// struct; an empty emptyDir, by contrast, means something and stays.
var emptyByEncoding = map[string]bool{"resources": true, "updateStrategy": true, "status": true}

func dropNulls(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if m, ok := val.(map[string]any); val == nil || ok && len(m) == 0 && emptyByEncoding[k] {
				delete(t, k)
				continue
			}
			dropNulls(val)
		}
	case []any:
		for _, val := range t {
			dropNulls(val)
		}
	}
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

func objectsOf(c mutate.Companions) []any {
	var out []any
	for _, o := range c.Objects() {
		out = append(out, o)
	}
	return out
}
