// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package kbuild renders kustomizations with the kustomize library, so the
// Makefile and the tests need no kustomize binary.
package kbuild

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Build renders dir. A non-empty image is set on every entry of dir's
// kustomization images, on a copy of dir's parent tree.
func Build(dir, image string) ([]byte, error) {
	if image != "" {
		copied, cleanup, err := withImage(dir, image)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		dir = copied
	}
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy // namespaces and CRDs first, as kubectl kustomize does
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}

// withImage copies the parent of dir (the config tree) and sets image on
// every entry of dir's kustomization images.
func withImage(dir, image string) (string, func(), error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp("", "kbuild")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(tmp) }
	if err := os.CopyFS(tmp, os.DirFS(filepath.Dir(abs))); err != nil {
		cleanup()
		return "", nil, err
	}
	copied := filepath.Join(tmp, filepath.Base(abs))
	path := filepath.Join(copied, "kustomization.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	var k types.Kustomization
	if err := yaml.Unmarshal(raw, &k); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(k.Images) == 0 {
		cleanup()
		return "", nil, fmt.Errorf("%s has no images to set", path)
	}
	name, tag, digest := splitImage(image)
	for i := range k.Images {
		k.Images[i].NewName, k.Images[i].NewTag, k.Images[i].Digest = name, tag, digest
	}
	edited, err := yaml.Marshal(&k)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	if err := os.WriteFile(path, edited, 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	return copied, cleanup, nil
}

// splitImage splits registry:5000/repo/name:tag@digest into its parts.
func splitImage(ref string) (name, tag, digest string) {
	name, digest, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

// Decode splits a multi-document YAML or JSON stream (a rendering of
// kustomize or Helm) into objects, skipping empty documents.
func Decode(stream []byte) ([]*unstructured.Unstructured, error) {
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := d.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}
