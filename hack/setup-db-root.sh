#!/usr/bin/env bash
# Copyright 2026 The mysql-replication-webhook Authors
# SPDX-License-Identifier: Apache-2.0
# Builds a root filesystem holding a database server from Debian's archive,
# outside the clone, and prints its directory. The host's own packages are
# never changed: the server lives in its own root and runs with chroot.
#
#   hack/setup-db-root.sh mysql-9     Oracle MySQL (mysql-server) from Debian's unstable suite
#   hack/setup-db-root.sh mariadb     MariaDB 10.11 (mariadb-server, -backup, -client) from bookworm
#   hack/setup-db-root.sh mariadb-11  MariaDB 11.8, the current LTS, from trixie
#   hack/setup-db-root.sh mysqld-exporter  Prometheus' mysqld_exporter 0.17 from trixie (the metrics sidecar)
#
# The root is cached in $DB_ROOT_STORE (default ~/.local/share/mysql-replication-webhook/roots),
# so only the first run takes minutes.
set -euo pipefail

name="${1:?usage: setup-db-root.sh mysql-9|mariadb|mariadb-11|mysqld-exporter}"
STORE="${DB_ROOT_STORE:-${XDG_DATA_HOME:-$HOME/.local/share}/mysql-replication-webhook/roots}"
DEST="$STORE/$name"

log() { echo "setup-db-root: $*" >&2; }

case "$name" in
  mysql-9) suite=unstable; packages=mysql-server,mysql-client; check=usr/sbin/mysqld ;;
  mariadb) suite=bookworm; packages=mariadb-server,mariadb-backup,mariadb-client; check=usr/sbin/mariadbd ;;
  mariadb-11) suite=trixie; packages=mariadb-server,mariadb-backup,mariadb-client; check=usr/sbin/mariadbd ;;
  mysqld-exporter) suite=trixie; packages=prometheus-mysqld-exporter; check=usr/bin/prometheus-mysqld-exporter ;;
  *) log "unknown root $name"; exit 2 ;;
esac

# Mount points the test pods bind their volumes and files onto.
prepare() {
  mkdir -p "$1/run/mysqld" "$1/mnt" "$1/opt" "$1/tmp" "$1/var/lib/mysql" "$1/etc/mysql/conf.d" "$1/etc/mysqld-exporter"
  [ -e "$1/etc/hosts" ] || : >"$1/etc/hosts"
  # A plain file, not a symbolic link that a bind mount would follow out of the root.
  if [ -L "$1/etc/mysql/my.cnf" ]; then rm -f "$1/etc/mysql/my.cnf"; : >"$1/etc/mysql/my.cnf"; fi
  [ -e "$1/etc/resolv.conf" ] || : >"$1/etc/resolv.conf"
}

if [ -x "$DEST/$check" ] && [ -f "$DEST/.complete" ]; then
  prepare "$DEST"
  echo "$DEST"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  log "building $name needs root (mmdebstrap, chroot)"
  exit 1
fi
bash "$(dirname "$0")/apt-install.sh" mmdebstrap
mkdir -p "$STORE"
tmp="$DEST.partial"
rm -rf "$tmp"
log "building $name from Debian $suite into $DEST (a few minutes, once)"
mmdebstrap --quiet --variant=apt --include="$packages" \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  "$suite" "$tmp" >&2
[ -x "$tmp/$check" ] || { log "$check missing in the built root"; exit 1; }
prepare "$tmp"
touch "$tmp/.complete"
rm -rf "$DEST"
mv "$tmp" "$DEST"
echo "$DEST"
