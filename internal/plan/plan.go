// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package plan says, for StatefulSets the webhook completed, what the
// upgrade annotation would change: which of the webhook's parts the running
// release brings up to date, which parts are kept as the user's, and the
// diff of the pod template.
package plan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// MaxInputBytes bounds what Read reads; larger input is an error.
const MaxInputBytes = 64 << 20

// Outcome is what the upgrade annotation would do to one StatefulSet.
type Outcome struct {
	Namespace, Name string
	// State is one of the State constants.
	State string
	// Notes are the admission warnings the upgrade would answer with (the
	// parts brought up to date, removed, or kept as the user's), or why it
	// would be denied.
	Notes []string
	// Diff is the unified diff of the pod template, as stored against as
	// upgraded, without the fields at the API server's defaults.
	Diff string
}

// The states of an Outcome.
const (
	UpToDate   = "up to date"
	Waits      = "upgrade waits"
	NotLabeled = "not labeled"
	NotDone    = "not completed by the webhook"
	Denied     = "upgrade denied"
)

// Of plans the upgrade of one stored StatefulSet.
func Of(cfg mutate.Config, stored *appsv1.StatefulSet) Outcome {
	o := Outcome{Namespace: stored.Namespace, Name: stored.Name}
	switch {
	case !mutate.Enabled(stored):
		o.State = NotLabeled
		return o
	case stored.Annotations[contract.InjectorVersionAnnotation] == "":
		o.State = NotDone
		return o
	}
	asked := stored.DeepCopy()
	asked.Annotations[contract.UpgradeAnnotation] = contract.UpgradeNow
	res, err := cfg.Inject(asked, stored)
	if err != nil {
		o.State, o.Notes = Denied, []string{err.Error()}
		return o
	}
	o.Notes = res.Warnings
	o.Diff = diff(stored, res.StatefulSet)
	o.State = UpToDate
	if o.Diff != "" {
		o.State = Waits
	}
	return o
}

// The states of an adoption (Adoption).
const (
	Adoptable    = "can be adopted"
	NotAdoptable = "cannot be adopted"
	Completed    = "already completed by the webhook"
)

// Adoption says what labeling a StatefulSet the webhook has not completed
// (a single server its owner wrote) would do: whether the webhook admits
// it, with its warnings, and the diff of the pod template its pods roll
// to; or the denial, which says what to change.
func Adoption(cfg mutate.Config, stored *appsv1.StatefulSet) Outcome {
	o := Outcome{Namespace: stored.Namespace, Name: stored.Name}
	if stored.Annotations[contract.InjectorVersionAnnotation] != "" {
		o.State = Completed
		return o
	}
	labeled := stored.DeepCopy()
	if labeled.Labels == nil {
		labeled.Labels = map[string]string{}
	}
	labeled.Labels[contract.EnabledLabel] = contract.EnabledValue
	old := stored
	if stored.UID == "" {
		// Read from a file that was never applied: a CREATE.
		old = nil
	}
	res, err := cfg.Inject(labeled, old)
	if err != nil {
		o.State, o.Notes = NotAdoptable, []string{err.Error()}
		return o
	}
	o.State, o.Notes, o.Diff = Adoptable, res.Warnings, diff(stored, res.StatefulSet)
	return o
}

// diff is the unified diff of the two pod templates.
func diff(before, after *appsv1.StatefulSet) string {
	a, errA := templateYAML(before.Spec.Template)
	b, errB := templateYAML(after.Spec.Template)
	if errA != nil || errB != nil {
		return fmt.Sprintf("(no diff: %v)", errors.Join(errA, errB))
	}
	if a == b {
		return ""
	}
	name := before.Namespace + "/" + before.Name
	out, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b),
		FromFile: name + " spec.template (stored)", ToFile: name + " spec.template (" + contract.UpgradeAnnotation + "=" + contract.UpgradeNow + ")",
		Context: 3,
	})
	if err != nil {
		return fmt.Sprintf("(no diff: %v)", err)
	}
	return out
}

func templateYAML(t corev1.PodTemplateSpec) (string, error) {
	raw, err := yaml.Marshal(mutate.WithoutAPIDefaults(t))
	return string(raw), err
}

// Read decodes the StatefulSets in YAML or JSON documents, lists among
// them (kubectl get -o yaml), from r; other objects are skipped.
func Read(r io.Reader) ([]appsv1.StatefulSet, error) {
	input, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the input: %w", err)
	}
	if len(input) > MaxInputBytes {
		return nil, fmt.Errorf("the input is larger than %d MiB", MaxInputBytes>>20)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(input)))
	var out []appsv1.StatefulSet
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: reading YAML: %w", doc, err)
		}
		var obj struct {
			Kind  string            `json:"kind"`
			Items []json.RawMessage `json:"items"`
		}
		if err := yaml.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("document %d: not a Kubernetes object: %w", doc, err)
		}
		docs := [][]byte{raw}
		if strings.HasSuffix(obj.Kind, "List") {
			docs = docs[:0]
			for _, item := range obj.Items {
				docs = append(docs, []byte(item))
			}
		}
		for i, d := range docs {
			var sts appsv1.StatefulSet
			var tm struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal(d, &tm); err != nil || tm.Kind != "StatefulSet" {
				continue
			}
			if err := yaml.UnmarshalStrict(d, &sts); err != nil {
				return nil, fmt.Errorf("document %d, item %d: %w", doc, i+1, err)
			}
			out = append(out, sts)
		}
	}
}

// Write prints the outcomes: a line each, then the notes and diff of
// each StatefulSet whose upgrade waits or is denied.
func Write(w io.Writer, outcomes []Outcome) error {
	var b strings.Builder
	waiting := 0
	for _, o := range outcomes {
		fmt.Fprintf(&b, "%s/%s: %s\n", o.Namespace, o.Name, o.State)
		if o.State == Waits {
			waiting++
		}
	}
	for _, o := range outcomes {
		if o.State != Waits && o.State != Denied && o.State != Adoptable && o.State != NotAdoptable {
			continue
		}
		fmt.Fprintf(&b, "\n# %s/%s\n", o.Namespace, o.Name)
		for _, n := range o.Notes {
			fmt.Fprintf(&b, "# %s\n", n)
		}
		switch o.State {
		case Waits:
			fmt.Fprintf(&b, "# upgrade with: kubectl annotate statefulset -n %s %s %s=%s (its pods restart, replicas first)\n",
				o.Namespace, o.Name, contract.UpgradeAnnotation, contract.UpgradeNow)
		case Adoptable:
			fmt.Fprintf(&b, "# adopt with: kubectl label statefulset -n %s %s %s=%s (its pod restarts as the primary), then raise its replicas\n",
				o.Namespace, o.Name, contract.EnabledLabel, contract.EnabledValue)
		}
		b.WriteString(o.Diff)
	}
	if waiting > 0 {
		fmt.Fprintf(&b, "\n%d of %d StatefulSets wait for an upgrade to release %s\n", waiting, len(outcomes), contract.Release)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
