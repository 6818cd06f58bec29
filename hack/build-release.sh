#!/usr/bin/env bash
# Copyright 2026 The mysql-replication-webhook Authors
# SPDX-License-Identifier: Apache-2.0
#
# Builds an earlier release from its commit, as its users ran it: the
# webhook binary (its image held nothing else) and its config directory,
# which `make e2e` installs before this release to upgrade from it.
#
#   hack/build-release.sh <commit> <dir>     e.g. 61ddb15 bin/release-61ddb15
#
# <dir> gets webhook, config/ and COMMIT; a dir whose COMMIT matches is
# kept as it is.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 <commit> <dir>" >&2; exit 2; }
commit=$(git rev-parse --verify "$1^{commit}")
dir=$2
if [[ -x $dir/webhook && -d $dir/config && $(cat "$dir/COMMIT" 2>/dev/null) == "$commit" ]]; then
	exit 0
fi
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git archive "$commit" | tar -x -C "$src"
rm -rf "$dir"
mkdir -p "$dir"
out=$(cd "$dir" && pwd)
(cd "$src" && CGO_ENABLED=0 ${GO:-go} build -trimpath -ldflags="-s -w" -o "$out/webhook" ./cmd/webhook)
cp -r "$src/config" "$dir/config"
echo "$commit" >"$dir/COMMIT"
echo "built release $commit into $dir"
