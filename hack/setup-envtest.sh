#!/usr/bin/env bash
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

# 2. etcd from Debian.
if [ ! -x "$DEST/etcd" ]; then
  if ! command -v etcd >/dev/null 2>&1 && [ ! -x /usr/bin/etcd ]; then
    log "installing etcd-server with apt-get"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq etcd-server >/dev/null
  fi
  etcd_bin=$(command -v etcd || echo /usr/bin/etcd)
  ln -sf "$etcd_bin" "$DEST/etcd"
fi

# 3. kube-apiserver built from k8s.io/kubernetes through the module proxy.
if [ ! -x "$DEST/kube-apiserver" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  log "building kube-apiserver v$K8S_VERSION (several minutes on a cold Go cache)"
  (
    cd "$work"
    go mod init envtest-build >/dev/null 2>&1
    gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
    staging_version="v0.${K8S_VERSION#1.}"
    # Every staging module k8s.io/kubernetes replaces with a local path gets its release.
    sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$gomod" | sort -u | while read -r m; do
      go mod edit -replace "$m=$m@$staging_version"
    done
    go mod edit -require "k8s.io/kubernetes@v$K8S_VERSION"
    go mod tidy -e >/dev/null 2>&1 || true
    cat > tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
    go mod tidy >/dev/null
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION" -o "$DEST/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  )
fi

have_all || { log "failed to install envtest binaries into $DEST"; exit 1; }
echo "$DEST"
