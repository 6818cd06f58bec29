#!/usr/bin/env bash
# Copyright 2026 The mysql-replication-webhook Authors
# SPDX-License-Identifier: Apache-2.0
# Builds commands of one Kubernetes release from the Go module proxy:
#
#   hack/build-k8s.sh VERSION DEST kube-apiserver [kubelet ...]
#
# k8s.io/kubernetes is not made to be required as a module: its go.mod
# replaces every k8s.io staging module with a path in its own tree. A wrapper
# module requires it and replaces each of those with the staging module's
# release (v0.X.Y for Kubernetes 1.X.Y). Each command k8s.io/kubernetes/cmd/NAME
# is written to DEST/NAME.partial and renamed to DEST/NAME once complete.
#
# A cold build takes many minutes: it says what it builds and, every minute,
# roughly how long is left.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 VERSION DEST COMMAND..." >&2
  exit 2
fi
version=$1 dest=$2
shift 2
mkdir -p "$dest"
work=$(mktemp -d)
ticker=
trap '[ -n "$ticker" ] && kill "$ticker" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

log() { echo "build-k8s: $*" >&2; }

# Minutes each command took on a cold Go build cache on a 2-core machine
# (measured; kube-apiserver builds most of what the others share, so they
# take less after it). A warm cache takes seconds.
declare -A cold_minutes=([kube-apiserver]=9 [kubelet]=3 [kube-controller-manager]=2 [kube-scheduler]=1 [kube-proxy]=1 [kubectl]=1)
minutes_of() { echo "${cold_minutes[$1]:-2}"; }
total=2 # downloading the modules
for cmd in "$@"; do total=$((total + $(minutes_of "$cmd"))); done
log "building $* v$version from the Go module proxy: about $total minutes on a cold Go build cache (2 cores), seconds on a warm one"

# progress STEP MINUTES LATER: every minute, how long STEP has taken and
# roughly how long is left of it and of the LATER minutes after it.
progress() {
  local step=$1 expect=$2 later=$3 start=$SECONDS
  while sleep 60; do
    local took=$(((SECONDS - start) / 60)) left
    left=$((expect - took))
    if ((left > 0)); then
      log "$step: ${took} min so far, about ${left} min left (about $((left + later)) min for the whole build)"
    else
      log "$step: ${took} min so far, longer than the usual ${expect} min on a cold cache (a busy machine); still going"
    fi
  done
}
# step STEP MINUTES LATER COMMAND...: runs COMMAND while progress reports.
step() {
  local name=$1 expect=$2 later=$3
  shift 3
  progress "$name" "$expect" "$later" &
  ticker=$!
  "$@"
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  ticker=
}
go mod init k8s-build >/dev/null 2>&1
gomod=$(go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
staging_version="v0.${version#1.}"
sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$gomod" | sort -u | while read -r m; do
  go mod edit -replace "$m=$m@$staging_version"
done
go mod edit -require "k8s.io/kubernetes@v$version"
{
  echo '//go:build tools'
  echo
  echo 'package tools'
  echo
  for cmd in "$@"; do echo "import _ \"k8s.io/kubernetes/cmd/$cmd\""; done
} > tools.go
tidy() { go mod tidy >/dev/null 2>&1 || go mod tidy -e >/dev/null; }
later=$((total - 2))
log "downloading k8s.io/kubernetes v$version and the modules it needs"
step "downloading modules" 2 "$later" tidy
n=0
for cmd in "$@"; do
  n=$((n + 1))
  expect=$(minutes_of "$cmd")
  later=$((later - expect))
  log "building $cmd v$version ($n of $#; about $expect min on a cold cache)"
  step "building $cmd" "$expect" "$later" env CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$version" \
    -o "$dest/$cmd.partial" "k8s.io/kubernetes/cmd/$cmd"
  mv "$dest/$cmd.partial" "$dest/$cmd"
  log "built $cmd"
done
