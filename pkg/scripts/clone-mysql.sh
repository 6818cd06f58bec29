#!/bin/bash
# clone-mysql: on a replica whose data directory is still empty{{if .ChecksDivergence}} (and on a
# primary that lost its data, when told to recover it){{end}}, streams a
# backup from {{if .ChecksDivergence}}a pod of StatefulSet {{.StatefulSet}} (the previous one when it
# can be the donor, else the primary){{else}}the previous pod of StatefulSet {{.StatefulSet}}{{end}} into a staging
# directory on the data volume and prepares it there; only a complete,
# prepared backup is moved into place, by one rename that fails rather than
# replace anything. A clone that was cut off leaves only the staging
# directory behind; the next start removes it and clones again. A database
# is never deleted.
set -euo pipefail

{{template "clone-start" .}}
mkdir -p "$staging/data"

{{template "pod-host" (.Peers "clone-mysql")}}
{{- if .ChecksDivergence}}
primary_host=$(pod_host 0)
{{template "choose-donor" .}}

local_version=$({{.Server}} --version)
[[ $local_version =~ Ver\ ([0-9]+\.[0-9]+\.[0-9]+) ]] && local_version=${BASH_REMATCH[1]}
if [[ -n $recover_from ]]; then
  choose_recovery_donor
else
  choose_donor
fi
{{- else}}
source_host=$(pod_host $((ordinal - 1)))
{{- end}}
echo "clone-mysql: cloning from $source_host:{{.BackupPort}}"
{{.ReceiveBackup}} | {{.StreamTool}} -x -C "$staging/data"

# The backup tool writes its checkpoints file last: without it the stream was
# empty or cut off.
if [[ ! -f $staging/data/xtrabackup_checkpoints && ! -f $staging/data/mariadb_backup_checkpoints ]]; then
  echo "clone-mysql: the backup stream from $source_host:{{.BackupPort}} was empty or incomplete; the next start clones again" >&2
  exit 1
fi
{{.BackupTool}} --prepare --target-dir="$staging/data"
{{- if .ChecksDivergence}}
if [[ -n $recover_from ]]; then
  # The clone becomes the primary, on a temporary server with the pod's own
  # option files (its binary log is the real server's): no replication
  # channel, and a binary log that starts at the transactions the donor
  # replicated (a backup holds no binary log), so that replicas holding
  # no more position themselves there.
{{template "temp-server" .}}
  start_server "$staging/promote.err" {{.Server}} --datadir="$staging/data" --skip-grant-tables --skip-slave-start
  position=$(local_sql -e "SELECT @@GLOBAL.gtid_slave_pos")
  gtids='{{.MariaDBGTIDList}}'
  if [[ ! $position =~ $gtids ]]; then
    echo "clone-mysql: cannot read the GTID position of the clone of pod $recovered_from: $position" >&2
    exit 1
  fi
  local_sql -e "STOP ALL SLAVES; RESET SLAVE ALL; RESET MASTER; SET GLOBAL gtid_binlog_state = '$position'"
  stop_server
  rm -f "$staging"/data/{xtrabackup,mariadb_backup}_{slave,binlog}_info
  printf 'pod %s\n' "$recovered_from" >"$staging/data/{{.PromotedMarker}}"
  echo "clone-mysql: the clone of pod $recovered_from is the primary's: no replication channel, its binary log starts at GTID '$position'"
fi
{{- end}}
if ! mv -T "$staging/data" "$data"; then
  echo "clone-mysql: cannot move the clone into {{.DataDir}}; nothing was deleted" >&2
  exit 1
fi
rm -rf "$staging"
echo "clone-mysql: clone from $source_host prepared"
