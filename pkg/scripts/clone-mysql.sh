#!/bin/bash
# clone-mysql: on a replica whose data directory is still empty, streams a
# backup from the previous pod of StatefulSet {{.StatefulSet}} into a staging
# directory on the data volume and prepares it there; only a complete,
# prepared backup is moved into place, by one rename that fails rather than
# replace anything. A clone that was cut off leaves only the staging
# directory behind; the next start removes it and clones again. A database
# is never deleted.
set -euo pipefail

volume={{.DataVolumeDir}}
data=$volume/{{.DataSubPath}}
staging=$volume/{{.StagingDir}}

{{template "ordinal" (.Ordinal "clone-mysql")}}

# The primary (ordinal 0) never clones. An empty primary of a StatefulSet
# that has been initialised lost its data: it must not start empty and take
# writes, nor hand an empty database to the replicas that clone it.
if [[ $ordinal -eq 0 ]]; then
  if [[ -e {{.InitializedDir}}/{{.InitializedKey}} && ( ! -d $data || -z "$(ls -A "$data")" ) ]]; then
    echo "clone-mysql: refusing to start an empty primary: StatefulSet {{.StatefulSet}} has been initialised" \
      "(ConfigMap {{.StatefulSet}}-initialized) and {{.DataDir}} of ordinal 0 is empty; see \"An empty primary\" in the README" >&2
    exit 1
  fi
  echo "clone-mysql: ordinal 0 is the primary; nothing to clone"
  exit 0
fi

if [[ -d $data/mysql ]]; then
  echo "clone-mysql: data directory already holds a database; skipping the clone"
  exit 0
elif [[ -d $data && -n "$(ls -A "$data")" ]]; then
  echo "clone-mysql: {{.DataDir}} is not empty but holds no database; refusing to overwrite it (empty it to clone again)" >&2
  exit 1
fi

if [[ -e $staging ]]; then
  echo "clone-mysql: a previous clone did not finish; removing its staging directory" >&2
  rm -rf "$staging"
fi
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
