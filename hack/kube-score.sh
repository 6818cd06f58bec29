#!/usr/bin/env bash
# Copyright 2026 The mysql-replication-webhook Authors
# SPDX-License-Identifier: Apache-2.0
# Installs kube-score (a Go module, built from the module proxy) into the
# project's tool directory outside the clone, once, and prints its path.
set -euo pipefail

VERSION="${KUBE_SCORE_VERSION:-v1.20.0}"
DIR="${XDG_DATA_HOME:-$HOME/.local/share}/mysql-replication-webhook/tools/kube-score-$VERSION"
if [ ! -x "$DIR/kube-score" ]; then
  mkdir -p "$DIR"
  GOBIN="$DIR" GOFLAGS=-mod=mod go install "github.com/zegl/kube-score/cmd/kube-score@$VERSION" >&2
fi
echo "$DIR/kube-score"
