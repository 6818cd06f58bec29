#!/usr/bin/env bash
# Builds commands of one Kubernetes release from the Go module proxy:
#
#   hack/build-k8s.sh VERSION DEST kube-apiserver [kubelet ...]
#
# k8s.io/kubernetes is not made to be required as a module: its go.mod
# replaces every k8s.io staging module with a path in its own tree. A wrapper
# module requires it and replaces each of those with the staging module's
# release (v0.X.Y for Kubernetes 1.X.Y). Each command k8s.io/kubernetes/cmd/NAME
# is written to DEST/NAME.partial and renamed to DEST/NAME once complete.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 VERSION DEST COMMAND..." >&2
  exit 2
fi
version=$1 dest=$2
shift 2
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
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
go mod tidy >/dev/null 2>&1 || go mod tidy -e >/dev/null
for cmd in "$@"; do
  echo "build-k8s: building $cmd v$version" >&2
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$version" \
    -o "$dest/$cmd.partial" "k8s.io/kubernetes/cmd/$cmd"
  mv "$dest/$cmd.partial" "$dest/$cmd"
done
