#!/usr/bin/env bash
# Writes BENCHMARKS.md from the outputs of test/bench and of the Go benchmarks.
set -euo pipefail
report=$1
gobench=$2
cat <<MD
# Benchmarks

Measured by \`make bench\` on $(date -u +%Y-%m-%d); all figures of one run, side by side.
Medians and ratios; the goals are from the project's issue on speed.

Machine: $(grep '^machine:' "$report" | cut -d' ' -f2-)

## Goals

| figure | goal | measured | met |
| --- | --- | --- | --- |
$(awk -F': ' '
  function row(name, op, goal) {
    if (!(name in v)) return
    met = (op == "<=" ? v[name] + 0 <= goal : op == ">=" ? v[name] + 0 >= goal : v[name] + 0 == goal) ? "yes" : "no"
    printf "| %s | %s %s | %s | %s |\n", name, op, goal, v[name], met
  }
  /^[a-z0-9_]+: [0-9.]+$/ { v[$1] = $2 }
  END {
    row("admission_p99_ms", "<=", 1)
    row("throughput_ratio_vs_noop", ">=", 0.8)
    row("throughput_errors", "==", 0)
    row("apiserver_create_overhead_ratio", "<=", 1.3)
    row("mutate_1000env_ms", "<=", 10)
  }' "$report")

## What limits the figures

- The completed StatefulSet carries the scripts in its containers' commands,
  as the tutorial does, so a new StatefulSet is answered with a patch of
  about 11 KB (\`patch_bytes\`) in a dozen operations, most of it the
  \`initContainers\` and the sidecar. Encoding the completed object, diffing
  it with gomodules.xyz/jsonpatch and encoding the patch, then sending it over
  TLS, is the work; the no-op webhook does none of it and answers a few
  hundred bytes, so \`throughput_ratio_vs_noop\` is the cost of that work
  against the bare cost of TLS and HTTP, not a framework overhead. The
  handler itself is in the Go benchmarks below (BenchmarkHandle).
- Already done to keep it small: scripts are rendered once per name,
  flavour and credentials mode; objects encoded as the API server encodes
  them are diffed once; a re-admitted, already complete StatefulSet is
  answered without a patch.
- "With no webhook" stores the user's small object; the same completed
  object created without the webhook in its path shows what the larger object
  costs by itself (\`apiserver_create_overhead_ratio_same_object\`); the rest
  is the API server's call to the webhook and applying the patch.
- Client, server (and, for the create figures, kube-apiserver and etcd)
  share the machine's two cores in every figure; p99 includes their garbage
  collection and scheduling.

## Report

\`\`\`
$(grep -v '^machine:' "$report")
\`\`\`

## Go benchmarks

\`go test -run '^\$' -bench . -benchmem -count 5 ./pkg/mutate/ ./pkg/admission/\`

\`\`\`
$(grep -E '^(Benchmark|goos|goarch|cpu|pkg)' "$gobench")
\`\`\`
MD
