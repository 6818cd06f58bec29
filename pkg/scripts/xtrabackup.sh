#!/bin/bash
# xtrabackup sidecar of StatefulSet {{.StatefulSet}}: on a freshly cloned
# replica, starts replication from the clone's position exactly once (the
# position file is renamed once used; a configured replica is left alone),
# then serves backups to the next pod on port {{.BackupPort}}.
set -euo pipefail
shopt -s extglob nocasematch

cd /var/lib/mysql
primary_host="{{.StatefulSet}}-0.{{.Service}}"

sql() {
  {{.Client}} -h 127.0.0.1 --user=root "$@"
}

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
  # Containers of a pod start in no order: wait for mysqld.
  echo "xtrabackup: waiting for mysqld"
  until sql -e "SELECT 1" >/dev/null 2>&1; do sleep 1; done
  if [[ -n "$(sql -N -e 'SHOW SLAVE STATUS')" ]]; then
    echo "xtrabackup: replication is already configured; leaving it as it is"
  else
    echo "xtrabackup: starting replication from $primary_host"
    sql <<SQL
$(<change_master_to.sql.in), MASTER_HOST='$primary_host', MASTER_USER='root', MASTER_PASSWORD='', MASTER_CONNECT_RETRY=10;
START SLAVE;
SQL
  fi
  # At most once, also across container restarts.
  mv change_master_to.sql.in change_master_to.sql.orig
fi

echo "xtrabackup: serving backups on port {{.BackupPort}}"
{{.ServeBackup}}
