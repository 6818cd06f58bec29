#!/usr/bin/env bash
# Writes BENCHMARKS.md from the outputs `make bench` leaves in one directory:
# report.txt (test/bench), gobench.txt (the Go benchmarks), handle.prof.txt
# and handle-injected.prof.txt (CPU profiles of the handler).
set -euo pipefail
dir=$1
report=$dir/report.txt
value() { awk -F': ' -v n="$1" '$1 == n { print $2 }' "$report"; }
noisy=$(value bench_noisy)
cat <<MD
# Benchmarks

Measured by \`make bench\` on $(date -u +%Y-%m-%d); all figures of one run, side by side.
Each ratio is the median over the run's rounds, taken within each round;
spread is (max - min) / median over the rounds. The goals are from the
project's issue on speed.

Machine: $(grep '^machine:' "$report" | cut -d' ' -f2-)
MD
if [ "$noisy" != false ]; then
  cat <<MD

**Noisy run**: the noise rule below found the machine busy; these figures
are not to be trusted.
MD
fi
cat <<MD

## Goals

| figure | goal | measured | spread | met |
| --- | --- | --- | --- | --- |
$(awk -F': ' '
  function row(name, op, goal) {
    if (!(name in v)) return
    met = op == "" ? "" : (op == "<=" ? v[name] + 0 <= goal : op == ">=" ? v[name] + 0 >= goal : v[name] + 0 == goal) ? "yes" : "no"
    printf "| %s | %s | %s | %s | %s |\n", name, op == "" ? "reported" : op " " goal, v[name], (name "_spread" in v) ? v[name "_spread"] : "", met
  }
  /^[a-z0-9_]+: [0-9.a-z]+$/ { v[$1] = $2 }
  END {
    row("handle_vs_floor_ratio", "<=", 3)
    row("handle_injected_vs_floor_ratio", "<=", 1.5)
    row("allocs_per_admission", "", "")
    row("throughput_ratio_vs_noop", ">=", 0.5)
    row("admission_p50_vs_noop_ratio", "<=", 2)
    row("throughput_errors", "==", 0)
    row("apiserver_create_overhead_ratio_same_object", "<=", 1.3)
    row("apiserver_create_webhook_vs_policy_ratio", "", "")
    row("mutate_1000env_ms", "<=", 10)
  }' "$report")

The noise rule and what it found:

\`\`\`
$(grep -A1 '^noise rule:' "$report")
\`\`\`

## What limits the figures

- **The floor** (\`BenchmarkFloor\`) decodes the sample as the request
  carries it (about 400 bytes) and encodes the completed object (about
  15 KB: the completed StatefulSet carries the scripts in its containers'
  commands, as the tutorial does). \`Handle\` adds the mutation itself, the
  encoding of the object as decoded, and laying the completed encoding over
  the request: the completed object is encoded once and opened only where
  the request has something under it, so what the webhook adds (the
  init containers, the sidecar, the probes) goes into the patch as bytes of
  that encoding, never decoded again; the patch still holds
  gomodules.xyz/jsonpatch operations, and a test checks that it is the
  same, operation for operation, as the former fully decoded diff.
- **HandleInjected** is an UPDATE of a complete object: its request carries
  the 15 KB object, and decoding it with the API server's own decoder
  (sigs.k8s.io/json: a validation pass, then a decoding pass that unquotes
  every escaped script) costs several times the floor by itself
  (\`handle_injected_vs_own_floor_ratio\` compares it with decoding and
  encoding that object once). The rest is the mutation checking that every
  injected part is already there (package mutate compares each with
  \`equality.Semantic.DeepEqual\`) and one \`reflect.DeepEqual\` of the
  result. An UPDATE that sends the object as stored is decoded once.
- **Over HTTPS**, the no-op webhook answers a few hundred bytes; the
  webhook answers the patch (\`patch_bytes\`), written once with the
  completed encoding's bytes as they are, which the AdmissionReview carries
  in base64 (a third more) and the client decodes; the client and the
  server share the machine's cores, so \`throughput_ratio_vs_noop\` and
  \`admission_p50_vs_noop_ratio\` are bounded by the handler and those
  bytes on both ends against a request that does neither.
- **Through kube-apiserver**, "the completed object" is the same StatefulSet
  created with no mutation in its path: the rest of a labeled create is the
  API server's call to the webhook over TLS and applying the patch. The
  MutatingAdmissionPolicy fixture (\`test/bench/policy.go\`; written to
  \`policy.yaml\` by \`make bench\`) adds the same containers, volumes,
  probes and claim in-process, as one CEL expression of JSON patch
  operations built from the webhook's patch for the sample: it is the floor
  of any mutation, and \`apiserver_create_webhook_vs_policy_ratio\` is how
  far the webhook is from it.

### CPU profile of BenchmarkHandle (cumulative, top)

\`\`\`
$(sed -n '5,32p' "$dir/handle.prof.txt" 2>/dev/null)
\`\`\`

### CPU profile of BenchmarkHandleInjected (cumulative, top)

\`\`\`
$(sed -n '5,32p' "$dir/handle-injected.prof.txt" 2>/dev/null)
\`\`\`

## Report

\`\`\`
$(grep -v '^machine:' "$report")
\`\`\`

## Go benchmarks

\`go test -run '^\$' -bench . -benchmem -count 5 ./pkg/mutate/ ./pkg/admission/\`

\`\`\`
$(grep -E '^(Benchmark|goos|goarch|cpu|pkg)' "$dir/gobench.txt")
\`\`\`
MD
