// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package lint scores what a labeled sample becomes in a cluster — the
// StatefulSet as the webhook completes it, its companions, and the
// PodDisruptionBudget and NetworkPolicy the controller adds — with
// kube-score, a standard linter of Kubernetes objects.
package lint

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/controller"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/inject"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// unwanted are the findings the project answers for: a budget, spread
// pods, requests and limits of every container, a NetworkPolicy that
// admits the pods' ports.
var unwanted = regexp.MustCompile(`(?i)PodDisruptionBudget|anti-?affinity|topology spread|CPU (limit|request)|Memory (limit|request)|matching NetworkPolicy`)

func kubeScore(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("bash", "../../hack/kube-score.sh").Output()
	if err != nil {
		msg := "kube-score cannot be built from the module proxy: " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED: " + msg)
	}
	return strings.TrimSpace(string(out))
}

func TestKubeScoreFindsNoMissingBudgetSpreadOrResources(t *testing.T) {
	bin := kubeScore(t)
	samples, err := filepath.Glob("../../config/samples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var remaining []string
	for _, sample := range samples {
		if filepath.Base(sample) == "kustomization.yaml" {
			continue
		}
		t.Run(filepath.Base(sample), func(t *testing.T) {
			in, err := os.ReadFile(sample)
			if err != nil {
				t.Fatal(err)
			}
			var objects bytes.Buffer
			if err := inject.Run(bytes.NewReader(in), &objects, mutate.DefaultConfig()); err != nil {
				t.Fatal(err)
			}
			// What the controller adds in the cluster.
			for _, doc := range strings.Split(objects.String(), "\n---\n") {
				var sts appsv1.StatefulSet
				if err := yaml.Unmarshal([]byte(doc), &sts); err != nil || sts.Kind != "StatefulSet" {
					continue
				}
				added := []any{}
				if pdb := controller.BuildDisruptionBudget(&sts); pdb != nil {
					added = append(added, pdb)
				}
				np, err := controller.BuildBackupNetworkPolicy(&sts)
				if err != nil {
					t.Fatal(err)
				}
				np.APIVersion, np.Kind = "networking.k8s.io/v1", "NetworkPolicy"
				for _, o := range append(added, np) {
					b, err := inject.Marshal(o)
					if err != nil {
						t.Fatal(err)
					}
					objects.WriteString("---\n")
					objects.Write(b)
				}
			}
			cmd := exec.Command(bin, "score", "--output-format", "ci", "-")
			cmd.Stdin = &objects
			out, _ := cmd.Output() // it exits 1 when anything is critical
			if len(out) == 0 {
				t.Fatalf("kube-score printed nothing for:\n%s", objects.String())
			}
			for _, line := range strings.Split(string(out), "\n") {
				if !strings.HasPrefix(line, "[CRITICAL]") && !strings.HasPrefix(line, "[WARNING]") {
					continue
				}
				if unwanted.MatchString(line) {
					t.Errorf("kube-score: %s", line)
				}
				finding := line[strings.LastIndex(line, ": ")+2:]
				finding = regexp.MustCompile(`^\([^)]*\) `).ReplaceAllString(finding, "")
				if !slices.Contains(remaining, finding) {
					remaining = append(remaining, finding)
				}
			}
		})
	}
	slices.Sort(remaining)
	t.Logf("kube-score's remaining findings (README: \"What kube-score says\"):\n  %s", strings.Join(remaining, "\n  "))
}
