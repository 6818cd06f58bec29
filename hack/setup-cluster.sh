#!/usr/bin/env bash
# Copyright 2026 The mysql-replication-webhook Authors
# SPDX-License-Identifier: Apache-2.0
# Installs what a one-node Kubernetes cluster needs on this machine, outside
# the clone, and prints the directory holding the binaries:
#
#   kube-apiserver, kubelet, kube-controller-manager, kube-scheduler, kube-proxy, kubectl
#     built from k8s.io/kubernetes through the Go module proxy (hack/build-k8s.sh,
#     as hack/setup-envtest.sh builds kube-apiserver)
#   coredns, crictl   built from the Go module proxy
#   pause             build/pause/linux/pause.c of the k8s.io/kubernetes module, static
#   etcd, containerd, runc, CNI plugins, iptables   Debian's packages
#
# Cached in $CLUSTER_STORE (default ~/.local/share/mysql-replication-webhook/cluster),
# so only the first run takes minutes (about 20 on a busy 2-core machine).
set -euo pipefail

K8S_VERSION="${CLUSTER_K8S_VERSION:-1.37.2}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
CRICTL_VERSION="${CRICTL_VERSION:-v1.37.0}"
STORE="${CLUSTER_STORE:-${XDG_DATA_HOME:-$HOME/.local/share}/mysql-replication-webhook/cluster}"
DEST="$STORE/${K8S_VERSION}-$(go env GOOS)-$(go env GOARCH)"
here="$(cd "$(dirname "$0")" && pwd)"

log() { echo "setup-cluster: $*" >&2; }

K8S_BINARIES=(kubelet kube-controller-manager kube-scheduler kube-proxy kubectl)
have_all() {
  local b
  for b in kube-apiserver etcd "${K8S_BINARIES[@]}" coredns crictl pause; do
    [ -x "$DEST/$b" ] || return 1
  done
  for b in containerd runc iptables; do command -v "$b" >/dev/null || return 1; done
  [ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ] || return 1
}

if have_all; then
  echo "$DEST"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  log "a cluster on this machine needs root (containerd, kubelet, iptables)"
  exit 1
fi
mkdir -p "$DEST"

# Debian's packages: container runtime, CNI plugins, firewall, etcd, mmdebstrap for images.
bash "$here/apt-install.sh" containerd runc containernetworking-plugins iptables conntrack \
  etcd-server iproute2 util-linux mmdebstrap

# kube-apiserver and etcd: the envtest store's, built there when missing.
envtest_dir=$(ENVTEST_K8S_VERSION="$K8S_VERSION" ENVTEST_SKIP_DOWNLOAD=1 bash "$here/setup-envtest.sh")
ln -sf "$envtest_dir/kube-apiserver" "$DEST/kube-apiserver"
ln -sf "$(readlink -f "$envtest_dir/etcd")" "$DEST/etcd"

missing=()
for b in "${K8S_BINARIES[@]}"; do
  [ -x "$DEST/$b" ] || missing+=("$b")
done
if [ ${#missing[@]} -gt 0 ]; then
  bash "$here/build-k8s.sh" "$K8S_VERSION" "$DEST" "${missing[@]}"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The pause image's binary, from the same module, linked statically.
if [ ! -x "$DEST/pause" ]; then
  log "building pause"
  dir=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  gcc -Os -static -DVERSION="v$K8S_VERSION" -o "$DEST/pause.partial" "$dir/build/pause/linux/pause.c"
  strip "$DEST/pause.partial"
  mv "$DEST/pause.partial" "$DEST/pause"
fi

# go_install NAME MODULE@VERSION PACKAGE [NOTE]: builds PACKAGE of that module
# version into $DEST/NAME, in a module of its own.
go_install() {
  local name=$1 module=$2 package=$3
  [ -x "$DEST/$name" ] && return 0
  log "building $name ${module#*@}${4:+ ($4)}"
  (
    mkdir -p "$work/$name" && cd "$work/$name"
    go mod init "$name-build" >/dev/null 2>&1
    go get "$module" >/dev/null 2>&1
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$DEST/$name.partial" "$package"
    mv "$DEST/$name.partial" "$DEST/$name"
  )
}
go_install coredns "github.com/coredns/coredns@$COREDNS_VERSION" github.com/coredns/coredns "about 10 minutes on a cold Go cache"
go_install crictl "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl

have_all || { log "failed to install the cluster binaries into $DEST"; exit 1; }
echo "$DEST"
