#!/bin/bash
# xtrabackup sidecar of StatefulSet {{.StatefulSet}}: on a freshly cloned
# replica, starts replication from the clone's position exactly once (the
# position file is renamed once used; a configured replica is left alone),
# then serves backups to the next pod on port {{.BackupPort}}.
set -euo pipefail
shopt -s extglob nocasematch

cd {{.DataDir}}
{{template "sidecar-start" .}}
{{- if .Credentials}}

if [[ $ordinal -eq 0 ]]; then
  # The primary keeps the replication user, with only replication
  # privileges and the Secret's password; replicas clone it with the data.
  wait_for_mysqld
  sql <<SQL
CREATE USER IF NOT EXISTS '{{.ReplicationUser}}'@'%' IDENTIFIED BY '$replication_password';
ALTER USER '{{.ReplicationUser}}'@'%' IDENTIFIED BY '$replication_password';
GRANT {{.Replication.Grant}} ON *.* TO '{{.ReplicationUser}}'@'%';
SQL
  echo "xtrabackup: replication user {{.ReplicationUser}} is in place"
fi
{{- end}}

# The backup tool names its files xtrabackup_* (MariaDB 11: mariadb_backup_*).
slave_info=xtrabackup_slave_info
binlog_info=xtrabackup_binlog_info
[[ -f mariadb_backup_slave_info ]] && slave_info=mariadb_backup_slave_info
[[ -f mariadb_backup_binlog_info ]] && binlog_info=mariadb_backup_binlog_info

if [[ -f $slave_info ]] && grep -q '[^[:space:]]' "$slave_info"; then
  # Cloned from a replica: the backup tool wrote the statements that point at
  # the primary's position, one CHANGE MASTER TO or several (GTID form).
  statements=$(<"$slave_info")
  statements=${statements%%*([[:space:]])}
  statements=${statements%;}
  last=${statements##*;}
  if [[ ! $last =~ ^[[:space:]]*CHANGE[[:space:]]+MASTER[[:space:]]+TO ]]; then
    echo "xtrabackup: $slave_info does not end with CHANGE MASTER TO: $statements" >&2
    exit 1
  fi
  printf '%s\n' "$statements" >change_master_to.sql.tmp
  mv change_master_to.sql.tmp change_master_to.sql.in
  rm -f "$slave_info" "$binlog_info"
elif [[ -f $binlog_info ]]; then
  # Cloned from the primary: the file holds the binary log file, the position
  # and, with some tools, a GTID set as a third column.
  read -r binlog_file binlog_pos _ <"$binlog_info" || true
  if [[ -z ${binlog_file:-} || ! ${binlog_pos:-} =~ ^[0-9]+$ ]]; then
    echo "xtrabackup: cannot read a binary log position from $binlog_info: $(<"$binlog_info")" >&2
    exit 1
  fi
  echo "CHANGE MASTER TO MASTER_LOG_FILE='$binlog_file', MASTER_LOG_POS=$binlog_pos" >change_master_to.sql.tmp
  mv change_master_to.sql.tmp change_master_to.sql.in
  rm -f "$slave_info" "$binlog_info"
fi

if [[ -f change_master_to.sql.in ]]; then
  wait_for_mysqld
  if [[ -n "$(sql -N -e '{{.Replication.Status}}')" ]]; then
    echo "xtrabackup: replication is already configured; leaving it as it is"
  else
    echo "xtrabackup: starting replication from $primary_host"
    sql <<SQL
{{- if .Credentials}}
$(<change_master_to.sql.in), {{.Replication.Host}}='$primary_host', {{.Replication.User}}='{{.ReplicationUser}}', {{.Replication.Password}}='$replication_password', {{.Replication.ConnectRetry}}=10;
{{- else}}
$(<change_master_to.sql.in), {{.Replication.Host}}='$primary_host', {{.Replication.User}}='root', {{.Replication.Password}}='', {{.Replication.ConnectRetry}}=10;
{{- end}}
{{.Replication.Start}};
SQL
  fi
  # At most once, also across container restarts.
  mv change_master_to.sql.in change_master_to.sql.orig
{{- if .Credentials}}
elif [[ $ordinal -gt 0 ]]; then
  # A replica's channel keeps the password it was configured with, and the
  # primary takes the Secret's at every start: so does every start of a
  # replica, and a changed replication-password reaches each replica when
  # it restarts.
  wait_for_mysqld
  if [[ -n "$(sql -N -e '{{.Replication.Status}}')" ]]; then
    sql <<SQL
{{template "refresh-credentials" .}}
SQL
    echo "xtrabackup: replication runs with the Secret's replication-password"
  fi
{{- end}}
fi

echo "xtrabackup: serving backups on port {{.BackupPort}}"
{{.ServeBackup}}
