#!/bin/bash
# clone-mysql: on a replica whose data directory is still empty, streams a
# backup from the previous pod of StatefulSet {{.StatefulSet}} into a staging
# directory on the data volume and prepares it there; only a complete,
# prepared backup is moved into place, by one rename that fails rather than
# replace anything. A clone that was cut off leaves only the staging
# directory behind; the next start removes it and clones again. A database
# is never deleted.
set -euo pipefail

{{template "clone-start" .}}
mkdir -p "$staging/data"

source_host="{{.StatefulSet}}-$((ordinal - 1)).{{.Service}}"
echo "clone-mysql: cloning from $source_host:{{.BackupPort}}"
{{.ReceiveBackup}} | {{.StreamTool}} -x -C "$staging/data"

# The backup tool writes its checkpoints file last: without it the stream was
# empty or cut off.
if [[ ! -f $staging/data/xtrabackup_checkpoints && ! -f $staging/data/mariadb_backup_checkpoints ]]; then
  echo "clone-mysql: the backup stream from $source_host:{{.BackupPort}} was empty or incomplete; the next start clones again" >&2
  exit 1
fi
{{.BackupTool}} --prepare --target-dir="$staging/data"
if ! mv -T "$staging/data" "$data"; then
  echo "clone-mysql: cannot move the clone into {{.DataDir}}; nothing was deleted" >&2
  exit 1
fi
rm -rf "$staging"
echo "clone-mysql: clone from $source_host prepared"
