#!/usr/bin/env bash
# Copyright 2026 The mysql-replication-webhook Authors
# SPDX-License-Identifier: Apache-2.0
# Installs the control-plane binaries envtest needs (kube-apiserver, etcd) into
# the store setup-envtest uses, outside the clone, and prints that directory.
#
# Order of preference: binaries already in the store; setup-envtest's download;
# a local build of kube-apiserver from the Go module proxy plus Debian's etcd.
set -euo pipefail

K8S_VERSION="${ENVTEST_K8S_VERSION:-1.37.2}"
STORE="${ENVTEST_STORE:-${XDG_DATA_HOME:-$HOME/.local/share}/kubebuilder-envtest}"
DEST="$STORE/k8s/${K8S_VERSION}-$(go env GOOS)-$(go env GOARCH)"

log() { echo "setup-envtest: $*" >&2; }

have_all() { [ -x "$DEST/kube-apiserver" ] && [ -x "$DEST/etcd" ]; }

if have_all; then
  echo "$DEST"
  exit 0
fi
mkdir -p "$DEST"

# 1. setup-envtest's own download, where the release host is reachable.
if [ -z "${ENVTEST_SKIP_DOWNLOAD:-}" ]; then
  if dir=$(timeout 60 go run sigs.k8s.io/controller-runtime/tools/setup-envtest@"${SETUP_ENVTEST_VERSION:-v0.25.1}" \
      use "$K8S_VERSION" --bin-dir "$STORE" -p path 2>/dev/null) && [ -x "$dir/kube-apiserver" ]; then
    cp -f "$dir/kube-apiserver" "$dir/etcd" "$DEST/" 2>/dev/null || true
    if have_all; then echo "$DEST"; exit 0; fi
  fi
  log "download not available; building locally"
fi

here="$(cd "$(dirname "$0")" && pwd)"

# 2. etcd from Debian.
if [ ! -x "$DEST/etcd" ]; then
  if ! command -v etcd >/dev/null 2>&1 && [ ! -x /usr/bin/etcd ]; then
    bash "$here/apt-install.sh" etcd-server
  fi
  etcd_bin=$(command -v etcd || echo /usr/bin/etcd)
  ln -sf "$etcd_bin" "$DEST/etcd"
fi

# 3. kube-apiserver built from k8s.io/kubernetes through the module proxy.
if [ ! -x "$DEST/kube-apiserver" ]; then
  log "building kube-apiserver v$K8S_VERSION (several minutes on a cold Go cache)"
  bash "$here/build-k8s.sh" "$K8S_VERSION" "$DEST" kube-apiserver
fi

have_all || { log "failed to install envtest binaries into $DEST"; exit 1; }
echo "$DEST"
