// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

const policyName = "mysql-replication-bench"

// policyFixture returns a MutatingAdmissionPolicy, and its binding, that
// adds to a StatefulSet labeled policyLabel=enabled what the webhook adds
// to the sample: the same containers, volumes, probes, claim and
// annotations, as one CEL expression of JSON patch operations. It is a
// benchmark fixture: fixed to the sample's names, it knows nothing of user
// overrides, profiles or credentials.
func policyFixture(ops []jsonpatch.JsonPatchOperation) (*admissionregistrationv1.MutatingAdmissionPolicy, *admissionregistrationv1.MutatingAdmissionPolicyBinding, error) {
	var expr strings.Builder
	expr.WriteString("[\n")
	for _, op := range ops {
		fmt.Fprintf(&expr, "  JSONPatch{op: %s, path: %s", celString(op.Operation), celString(op.Path))
		if op.Operation != "remove" {
			b, err := json.Marshal(op.Value)
			if err != nil {
				return nil, nil, err
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				return nil, nil, err
			}
			expr.WriteString(", value: ")
			typ, free := celType(op.Path)
			celValue(&expr, v, typ, free)
		}
		expr.WriteString("},\n")
	}
	expr.WriteString("]")
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{policyLabel: "enabled"}}
	policy := &admissionregistrationv1.MutatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: policyName},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ObjectSelector: selector,
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule: admissionregistrationv1.Rule{
							APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"statefulsets"},
						},
					},
				}},
			},
			Mutations: []admissionregistrationv1.Mutation{{
				PatchType: admissionregistrationv1.PatchTypeJSONPatch,
				JSONPatch: &admissionregistrationv1.JSONPatch{Expression: expr.String()},
			}},
			FailurePolicy:      ptr.To(admissionregistrationv1.Fail),
			ReinvocationPolicy: admissionregistrationv1.NeverReinvocationPolicy,
		},
	}
	binding := &admissionregistrationv1.MutatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: policyName},
		Spec:       admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{PolicyName: policyName},
	}
	return policy, binding, nil
}

func fixtureYAML(policy *admissionregistrationv1.MutatingAdmissionPolicy, binding *admissionregistrationv1.MutatingAdmissionPolicyBinding) ([]byte, error) {
	p, err := yaml.Marshal(policy)
	if err != nil {
		return nil, err
	}
	b, err := yaml.Marshal(binding)
	if err != nil {
		return nil, err
	}
	return slices.Concat([]byte("# Written by test/bench -policy-out: the MutatingAdmissionPolicy fixture of `make bench`.\n"), p, []byte("---\n"), b), nil
}

// freeMaps are the fields whose values are maps of any keys, written as
// CEL map literals; every other object is written as the object type of
// its place in the StatefulSet (Object.spec.template.spec.containers{...}).
var freeMaps = map[string]bool{"labels": true, "annotations": true, "matchLabels": true, "requests": true, "limits": true, "nodeSelector": true}

// celType returns the CEL type of the value at a JSON pointer, and whether
// that value is a free map.
func celType(pointer string) (string, bool) {
	t := "Object"
	last := ""
	for _, seg := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		if _, err := strconv.Atoi(seg); err == nil {
			continue
		}
		if freeMaps[last] {
			return t, false // a value in a free map
		}
		t, last = t+"."+seg, seg
	}
	return t, freeMaps[last]
}

// celValue writes a JSON value as a CEL literal of type typ.
func celValue(b *strings.Builder, v any, typ string, free bool) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case float64:
		if t == float64(int64(t)) {
			b.WriteString(strconv.FormatInt(int64(t), 10))
		} else {
			b.WriteString(strconv.FormatFloat(t, 'g', -1, 64))
		}
	case string:
		b.WriteString(celString(t))
	case []any:
		b.WriteString("[")
		for i, item := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			celValue(b, item, typ, free)
		}
		b.WriteString("]")
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if free {
			b.WriteString("{")
		} else {
			b.WriteString(typ + "{")
		}
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			if free {
				b.WriteString(celString(k))
			} else {
				b.WriteString(k)
			}
			b.WriteString(": ")
			celValue(b, t[k], typ+"."+k, !free && freeMaps[k])
		}
		b.WriteString("}")
	}
}

// celString writes s as a CEL double-quoted string literal.
func celString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
