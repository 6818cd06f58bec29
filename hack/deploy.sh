#!/usr/bin/env bash
# Copyright 2026 The mysql-replication-webhook Authors
# SPDX-License-Identifier: Apache-2.0
#
# Installs config/default with the kustomize built into kubectl, the image
# set to IMG (the manager's and the injected helper image alike), as
# `make deploy` does; no Go toolchain needed.
#
#   hack/deploy.sh IMG apply|delete|render
#
# KUBECTL names the kubectl to use (default: kubectl on PATH).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 IMG apply|delete|render" >&2
  exit 2
fi
img=$1 verb=$2
kubectl=${KUBECTL:-kubectl}
root=$(cd "$(dirname "$0")/.." && pwd)
overlay=$(mktemp -d)
trap 'rm -rf "$overlay"' EXIT

# An image is name:tag or name@digest (a registry's port may hold a colon).
case $img in
  *@*) name=${img%@*} field="digest: ${img#*@}" ;;
  *:*) name=${img%:*} field="newTag: ${img##*:}"
       case ${img##*:} in */*) name=$img field="newTag: latest" ;; esac ;;
  *) name=$img field="newTag: latest" ;;
esac

cat >"$overlay/kustomization.yaml" <<YAML
resources:
- $(realpath --relative-to="$overlay" "$root/config/default")
images:
- name: mysql-replication-webhook
  newName: $name
  $field
# The injected helper image is the manager's, as in config/default.
replacements:
- source:
    kind: Deployment
    name: mysql-replication-controller-manager
    fieldPath: spec.template.spec.containers.[name=manager].image
  targets:
  - select:
      kind: Deployment
      name: mysql-replication-controller-manager
    fieldPaths:
    - spec.template.spec.containers.[name=manager].env.[name=HELPER_IMAGE].value
YAML

case $verb in
  apply) "$kubectl" apply -k "$overlay" ;;
  delete) "$kubectl" delete --ignore-not-found -k "$overlay" ;;
  render) "$kubectl" kustomize "$overlay" ;;
  *) echo "$0: apply, delete or render, not $verb" >&2; exit 2 ;;
esac
