#!/bin/bash
# xtrabackup sidecar of StatefulSet {{.StatefulSet}} (CLONE plugin, GTID): on
# the primary, keeps the replication and clone users in place; on a freshly
# cloned replica, points replication at the primary with GTID
# auto-positioning and starts it, exactly once (clone-mysql leaves a marker
# that is removed once used; a configured replica is left alone, also across
# restarts); a replica that diverged from the primary does not replicate.
# Replicas clone over the MySQL port, so no backup port is served; the
# container stays up so that its log tells what it did.
set -euo pipefail

{{template "sidecar-start" .}}

{{template "divergence-check" .}}

wait_for_mysqld
if [[ $ordinal -eq 0 ]]; then
{{template "primary-no-channel" .}}
{{- if .Credentials}}
  # The replication user has only the replication privileges, the clone
  # user only BACKUP_ADMIN; replicas get both with the data.
{{template "quote-password" (.QuotedPassword "clone_password" .ClonePasswordEnv)}}
  sql <<SQL
CREATE USER IF NOT EXISTS '{{.ReplicationUser}}'@'%' IDENTIFIED BY '$replication_password'{{template "require-tls" .}};
ALTER USER '{{.ReplicationUser}}'@'%' IDENTIFIED BY '$replication_password'{{template "require-tls" .}};
GRANT {{.Replication.Grant}} ON *.* TO '{{.ReplicationUser}}'@'%';
CREATE USER IF NOT EXISTS '{{.CloneUser}}'@'%' IDENTIFIED BY '$clone_password'{{template "require-tls" .}};
ALTER USER '{{.CloneUser}}'@'%' IDENTIFIED BY '$clone_password'{{template "require-tls" .}};
GRANT BACKUP_ADMIN ON *.* TO '{{.CloneUser}}'@'%';
SQL
  echo "xtrabackup: replication user {{.ReplicationUser}} and clone user {{.CloneUser}} are in place"
{{- template "metrics-user" .}}
{{- else}}
  echo "xtrabackup: ordinal 0 is the primary"
{{- end}}
elif ! replication_allowed; then
  echo "xtrabackup: replication stays stopped"
elif [[ ! -e {{.DataDir}}/{{.StartReplicationMarker}} ]]; then
{{- if .Credentials}}
  # A replica's channel keeps the password it was configured with, and the
  # primary takes the Secret's at every start: so does every start of a
  # replica, and a changed {{.ReplicationPasswordKey}} reaches each replica when
  # it restarts.
  if [[ -n "$(sql -N -e '{{.Replication.Status}}')" ]]; then
    sql <<SQL
{{template "refresh-credentials" .}}
SQL
    echo "xtrabackup: replication runs with the Secret's {{.ReplicationPasswordKey}}"
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
{{.Replication.ChangeSource}} {{.Replication.Host}}='$primary_host', SOURCE_PORT={{.MySQLPort}}, {{.Replication.User}}='{{.ReplicationUser}}', {{.Replication.Password}}='$replication_password', SOURCE_AUTO_POSITION=1, {{template "source-retry" .}}{{template "source-tls" .}};
{{- else}}
{{.Replication.ChangeSource}} {{.Replication.Host}}='$primary_host', SOURCE_PORT={{.MySQLPort}}, {{.Replication.User}}='root', {{.Replication.Password}}='', SOURCE_AUTO_POSITION=1, {{template "source-retry" .}}{{template "source-tls" .}};
{{- end}}
{{.Replication.Start}};
SQL
  # At most once, also across container restarts.
  rm -f {{.DataDir}}/{{.StartReplicationMarker}}
fi

echo "xtrabackup: replicas clone over port {{.MySQLPort}}; nothing to serve"
{{- if .TLS}}
# The kubelet writes a renewed certificate into the pod; the server takes
# it without a restart.
certificate=$(cksum <{{.TLSCertFile}} 2>/dev/null || true)
while :; do
  sleep 60 &
  wait $!
  renewed=$(cksum <{{.TLSCertFile}} 2>/dev/null || true)
  if [[ $renewed != "$certificate" ]] && sql -e "ALTER INSTANCE RELOAD TLS"; then
    certificate=$renewed
    echo "xtrabackup: the server took the renewed certificate"
  fi
done
{{- else}}
while :; do
  sleep 3600 &
  wait $!
done
{{- end}}
