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
