// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package chart tests the Helm chart (dist/chart) against the kustomize
// install (config/default), object by object, so that the two cannot drift;
// and lints it as `helm lint` does.
package chart

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/helmchart"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/kbuild"
)

const (
	root      = "../.."
	namespace = "mysql-replication-system"
)

var chartDir = filepath.Join(root, helmchart.Dir)

// kustomized renders config/default (with the NetworkPolicies when
// networkPolicies is set: its commented resource line enabled, on a copy)
// with image when not empty.
func kustomized(t *testing.T, image string, networkPolicies bool) []*unstructured.Unstructured {
	t.Helper()
	config := filepath.Join(root, "config")
	if networkPolicies {
		tmp := t.TempDir()
		if err := os.CopyFS(tmp, os.DirFS(config)); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(tmp, "default", "kustomization.yaml")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		enabled := strings.Replace(string(b), "#- ../network-policy", "- ../network-policy", 1)
		if enabled == string(b) {
			t.Fatalf("%s no longer has the line #- ../network-policy", path)
		}
		if err := os.WriteFile(path, []byte(enabled), 0o644); err != nil {
			t.Fatal(err)
		}
		config = tmp
	}
	out, err := kbuild.Build(filepath.Join(config, "default"), image)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kbuild.Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func key(u *unstructured.Unstructured) string {
	return fmt.Sprintf("%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
}

// same compares the chart's objects with kustomize's: the Namespace aside
// (helm install --create-namespace makes it), and with kustomize's
// managed-by label read as Helm's.
func same(t *testing.T, chart, kustomize []*unstructured.Unstructured) {
	t.Helper()
	want := map[string]*unstructured.Unstructured{}
	for _, u := range kustomize {
		if u.GetKind() == "Namespace" {
			continue
		}
		labels := u.GetLabels()
		if labels["app.kubernetes.io/managed-by"] == "kustomize" {
			labels["app.kubernetes.io/managed-by"] = "Helm"
			u.SetLabels(labels)
		}
		want[key(u)] = u
	}
	got := map[string]*unstructured.Unstructured{}
	for _, u := range chart {
		if _, dup := got[key(u)]; dup {
			t.Errorf("the chart renders %s twice", key(u))
		}
		got[key(u)] = u
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("the chart lacks %s, which config/default has", k)
			continue
		}
		if diff := cmp.Diff(w.Object, g.Object); diff != "" {
			t.Errorf("%s differs between config/default (-) and the chart (+):\n%s", k, diff)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("the chart has %s, which config/default lacks", k)
		}
	}
}

func TestChartRendersTheKustomizeInstall(t *testing.T) {
	for _, tc := range []struct {
		name            string
		values          map[string]any
		image           string
		networkPolicies bool
	}{
		{name: "defaults"},
		{
			name:   "another image",
			values: map[string]any{"manager": map[string]any{"image": map[string]any{"repository": "registry.example/mrw", "tag": "v9.9.9"}}},
			image:  "registry.example/mrw:v9.9.9",
		},
		{
			name:            "with the NetworkPolicies",
			values:          map[string]any{"networkPolicy": map[string]any{"enabled": true}},
			networkPolicies: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := helmchart.Render(chartDir, namespace, tc.values)
			if err != nil {
				t.Fatal(err)
			}
			same(t, objs, kustomized(t, tc.image, tc.networkPolicies))
		})
	}
}

// The values the chart offers beyond config/default reach the objects.
func TestChartValues(t *testing.T) {
	objs, err := helmchart.Render(chartDir, namespace, map[string]any{
		"manager": map[string]any{
			"replicas":  3,
			"args":      []any{"--cluster-domain=example.org"},
			"resources": map[string]any{"requests": map[string]any{"cpu": "50m"}},
		},
		"helperImage": "registry.example/helper:v1",
		"metrics":     map[string]any{"port": 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	var deployment *unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == "Deployment" {
			deployment = u
		}
		if strings.Contains(u.GetName(), "metrics") {
			t.Errorf("metrics.port 0 still renders %s", key(u))
		}
	}
	if deployment == nil {
		t.Fatal("no Deployment")
	}
	replicas, _, _ := unstructured.NestedFieldNoCopy(deployment.Object, "spec", "replicas")
	containers, _, _ := unstructured.NestedSlice(deployment.Object, "spec", "template", "spec", "containers")
	manager := containers[0].(map[string]any)
	args := fmt.Sprint(manager["args"])
	env := fmt.Sprint(manager["env"])
	resources := fmt.Sprint(manager["resources"])
	for what, ok := range map[string]bool{
		"replicas 3":                              fmt.Sprint(replicas) == "3",
		"the extra flag":                          strings.Contains(args, "--cluster-domain=example.org"),
		"metrics off":                             strings.Contains(args, "--metrics-bind-address=0"),
		"the helper image":                        strings.Contains(env, "registry.example/helper:v1"),
		"the request, over the default limits":    resources == "map[limits:map[cpu:500m memory:256Mi] requests:map[cpu:50m memory:64Mi]]",
		"the manager's own image, not the helper": manager["image"] == "mysql-replication-webhook:"+contract.Release,
	} {
		if !ok {
			t.Errorf("not rendered: %s (args %s, env %s, resources %s, image %v)", what, args, env, resources, manager["image"])
		}
	}
}

// The chart's version is the release's.
func TestChartVersionIsTheRelease(t *testing.T) {
	ch, err := helmchart.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimPrefix(contract.Release, "v")
	if ch.Metadata.Version != want || ch.Metadata.AppVersion != want {
		t.Errorf("Chart.yaml: version %s, appVersion %s; the release is %s (contract.Release)", ch.Metadata.Version, ch.Metadata.AppVersion, contract.Release)
	}
}

// helm lint finds nothing above INFO, with the defaults and with every
// optional part on.
func TestHelmLint(t *testing.T) {
	for _, values := range []map[string]any{
		nil,
		{"networkPolicy": map[string]any{"enabled": true}, "helperImage": "registry.example/helper:v1"},
	} {
		linter := lint.AllWithKubeVersion(chartDir, values, namespace, nil)
		for _, m := range linter.Messages {
			if m.Severity > support.InfoSev {
				t.Errorf("helm lint (values %v): %s", values, m)
			} else {
				t.Logf("helm lint (values %v): %s", values, m)
			}
		}
	}
}

// The packaged chart (make release, as helm package makes it) renders
// what the chart's directory renders.
func TestPackagedChart(t *testing.T) {
	dest := t.TempDir()
	out, err := exec.Command("go", "run", filepath.Join(root, "hack", "chart"), "-d", dest, chartDir).CombinedOutput()
	if err != nil {
		t.Fatalf("hack/chart: %v\n%s", err, out)
	}
	archive := strings.TrimSpace(string(out))
	if want := filepath.Join(dest, "mysql-replication-webhook-"+strings.TrimPrefix(contract.Release, "v")+".tgz"); archive != want {
		t.Fatalf("hack/chart wrote %q, want %q", archive, want)
	}
	fromArchive, err := helmchart.Render(archive, namespace, nil)
	if err != nil {
		t.Fatal(err)
	}
	fromDir, err := helmchart.Render(chartDir, namespace, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromDir, fromArchive); diff != "" {
		t.Errorf("the packaged chart renders differently (-dir +archive):\n%s", diff)
	}
}
