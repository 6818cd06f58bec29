// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func BenchmarkInject(b *testing.B) {
	sts := plain("mysql")
	cfg := DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cfg.Inject(sts, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInject1000Env(b *testing.B) {
	sts := plain("mysql")
	for i := 0; i < 1000; i++ {
		sts.Spec.Template.Spec.Containers[0].Env = append(sts.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: fmt.Sprintf("V%d", i), Value: "x"})
	}
	cfg := DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cfg.Inject(sts, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInjectInjected(b *testing.B) {
	cfg := DefaultConfig()
	first, err := cfg.Inject(plain("mysql"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cfg.Inject(first.StatefulSet, first.StatefulSet); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildCompanions(b *testing.B) {
	sts := plain("mysql")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildCompanions(sts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPartDigests: the digests the record of injected parts costs a
// completion of the tutorial's StatefulSet.
func BenchmarkPartDigests(b *testing.B) {
	out := injected(plain("mysql"))
	spec := out.Spec.Template.Spec
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range spec.InitContainers {
			partDigest(c)
		}
		for _, c := range spec.Containers[1:] {
			partDigest(c)
		}
		for _, v := range spec.Volumes {
			partDigest(v)
		}
		partDigest(spec.Containers[0].ReadinessProbe)
		partDigest(spec.Containers[0].LivenessProbe)
		partDigest(spec.Containers[0].StartupProbe)
	}
}
