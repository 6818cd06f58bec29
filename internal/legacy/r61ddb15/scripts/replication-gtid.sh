#!/bin/bash
# xtrabackup sidecar of StatefulSet {{.StatefulSet}} (CLONE plugin, GTID): on
# the primary, keeps the replication and clone users in place; on a freshly
# cloned replica, points replication at the primary with GTID
# auto-positioning and starts it, exactly once (clone-mysql leaves a marker
# that is removed once used; a configured replica is left alone, also across
# restarts). Replicas clone over the MySQL port, so no backup port is served;
# the container stays up so that its log tells what it did.
set -euo pipefail

{{template "sidecar-start" .}}

wait_for_mysqld
if [[ $ordinal -eq 0 ]]; then
{{- if .Credentials}}
  # The replication user has only the replication privileges, the clone
  # user only BACKUP_ADMIN; replicas get both with the data.
  clone_password=$(sql_quote "${CLONE_PASSWORD:?the credentials Secret has no clone-password}")
  sql <<SQL
CREATE USER IF NOT EXISTS '{{.ReplicationUser}}'@'%' IDENTIFIED BY '$replication_password';
ALTER USER '{{.ReplicationUser}}'@'%' IDENTIFIED BY '$replication_password';
GRANT {{.Replication.Grant}} ON *.* TO '{{.ReplicationUser}}'@'%';
CREATE USER IF NOT EXISTS '{{.CloneUser}}'@'%' IDENTIFIED BY '$clone_password';
ALTER USER '{{.CloneUser}}'@'%' IDENTIFIED BY '$clone_password';
GRANT BACKUP_ADMIN ON *.* TO '{{.CloneUser}}'@'%';
SQL
  echo "xtrabackup: replication user {{.ReplicationUser}} and clone user {{.CloneUser}} are in place"
{{- else}}
  echo "xtrabackup: ordinal 0 is the primary"
{{- end}}
elif [[ ! -e {{.DataDir}}/{{.StartMarker}} ]]; then
{{- if .Credentials}}
  # A replica's channel keeps the password it was configured with, and the
  # primary takes the Secret's at every start: so does every start of a
  # replica, and a changed replication-password reaches each replica when
  # it restarts.
  if [[ -n "$(sql -N -e '{{.Replication.Status}}')" ]]; then
    sql <<SQL
{{template "refresh-credentials" .}}
SQL
    echo "xtrabackup: replication runs with the Secret's replication-password"
  fi
{{- else}}
  echo "xtrabackup: replication is already configured; leaving it as it is"
{{- end}}
else
  # A clone of a replica brings that replica's channel along, with relay
  # logs this pod does not have: it is replaced.
  echo "xtrabackup: starting replication from $primary_host with GTID auto-positioning"
  sql <<SQL
{{.Replication.Stop}};
{{.Replication.Reset}};
{{- if .Credentials}}
{{.Replication.ChangeSource}} {{.Replication.Host}}='$primary_host', SOURCE_PORT={{.Port}}, {{.Replication.User}}='{{.ReplicationUser}}', {{.Replication.Password}}='$replication_password', SOURCE_AUTO_POSITION=1, SOURCE_SSL=1, GET_SOURCE_PUBLIC_KEY=1, {{.Replication.ConnectRetry}}=10;
{{- else}}
{{.Replication.ChangeSource}} {{.Replication.Host}}='$primary_host', SOURCE_PORT={{.Port}}, {{.Replication.User}}='root', {{.Replication.Password}}='', SOURCE_AUTO_POSITION=1, SOURCE_SSL=1, GET_SOURCE_PUBLIC_KEY=1, {{.Replication.ConnectRetry}}=10;
{{- end}}
{{.Replication.Start}};
SQL
  # At most once, also across container restarts.
  rm -f {{.DataDir}}/{{.StartMarker}}
fi

echo "xtrabackup: replicas clone over port {{.Port}}; nothing to serve"
trap 'exit 0' TERM INT
while :; do
  sleep 3600 &
  wait $!
done
