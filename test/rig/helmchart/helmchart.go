// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package helmchart renders the project's Helm chart (dist/chart) with the
// Helm SDK, as `helm template` does, for the tests that compare it with the
// kustomize install and install it.
package helmchart

import (
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/kbuild"
)

// Dir is the chart, relative to the repository's root.
const Dir = "dist/chart"

// ReleaseName is the release name that gives the objects the names of
// config/default (its namePrefix).
const ReleaseName = "mysql-replication"

// Load loads the chart at dir.
func Load(dir string) (*chart.Chart, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("loading the chart %s: %w", dir, err)
	}
	return ch, nil
}

// Render renders the chart at dir as release ReleaseName in namespace with
// values over the chart's own, and decodes the objects, in the order of
// their templates' names.
func Render(dir, namespace string, values map[string]any) ([]*unstructured.Unstructured, error) {
	ch, err := Load(dir)
	if err != nil {
		return nil, err
	}
	vals, err := chartutil.ToRenderValues(ch, values, chartutil.ReleaseOptions{
		Name: ReleaseName, Namespace: namespace, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, fmt.Errorf("rendering the chart: %w", err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		if strings.HasSuffix(name, ".yaml") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var objs []*unstructured.Unstructured
	for _, name := range names {
		decoded, err := kbuild.Decode([]byte(files[name]))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		objs = append(objs, decoded...)
	}
	return objs, nil
}
