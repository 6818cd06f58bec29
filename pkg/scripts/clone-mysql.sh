#!/bin/bash
# clone-mysql: on a replica whose data directory is still empty, streams a
# backup from the previous pod of StatefulSet {{.StatefulSet}} and prepares it.
# A clone that was cut off leaves a marker behind, so the next start removes the
# partial data and clones again instead of starting on half a database.
set -euo pipefail

data={{.DataDir}}
marker=$data/.clone-in-progress

if [[ ! ${HOSTNAME:-} =~ -([0-9]+)$ ]]; then
  echo "clone-mysql: cannot read an ordinal from hostname '${HOSTNAME:-}'" >&2
  exit 1
fi
ordinal=$((10#${BASH_REMATCH[1]}))

# The primary (ordinal 0) never clones.
if [[ $ordinal -eq 0 ]]; then
  echo "clone-mysql: ordinal 0 is the primary; nothing to clone"
  exit 0
fi

if [[ -e $marker ]]; then
  echo "clone-mysql: a previous clone did not finish; removing its partial data" >&2
  find "$data" -mindepth 1 -delete
elif [[ -d $data/mysql ]]; then
  echo "clone-mysql: data directory already holds a database; skipping the clone"
  exit 0
elif [[ -n "$(ls -A "$data")" ]]; then
  echo "clone-mysql: $data is not empty but holds no database; refusing to overwrite it (empty it to clone again)" >&2
  exit 1
fi

source_host="{{.StatefulSet}}-$((ordinal - 1)).{{.Service}}"
touch "$marker"
echo "clone-mysql: cloning from $source_host:{{.BackupPort}}"
{{.ReceiveBackup}} | {{.StreamTool}} -x -C "$data"

# The backup tool writes its checkpoints file last: without it the stream was
# empty or cut off.
if [[ ! -f $data/xtrabackup_checkpoints && ! -f $data/mariadb_backup_checkpoints ]]; then
  echo "clone-mysql: the backup stream from $source_host:{{.BackupPort}} was empty or incomplete; the next start clones again" >&2
  exit 1
fi
{{.BackupTool}} --prepare --target-dir="$data"
rm -f "$marker"
echo "clone-mysql: clone from $source_host prepared"
