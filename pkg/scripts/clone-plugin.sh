#!/bin/bash
# clone-mysql: on a replica whose data directory is still empty (and on a
# primary that lost its data, when told to recover it), clones a
# pod of StatefulSet {{.StatefulSet}} (the previous one when it can be the
# donor, else the primary) with MySQL's CLONE plugin, over the MySQL
# protocol. A temporary server in this container runs CLONE INSTANCE into a
# staging directory on the data volume, and only a complete clone is
# moved into place, by one rename that fails rather than replace anything. A
# clone that was cut off leaves only the staging directory behind; the next
# start removes it and clones again. A database is never deleted.
set -euo pipefail

{{template "clone-start" .}}
mkdir -p "$staging"

{{template "sql-password" "clone-mysql"}}
{{template "sql-session"}}
{{- if .Credentials}}
clone_user={{.CloneUser}}
{{template "quote-password" (.QuotedPassword "clone_password" .ClonePasswordEnv)}}
{{- else}}
clone_user=root
clone_password=
{{- end}}

{{template "pod-host" (.Peers "clone-mysql")}}
primary_host=$(pod_host 0)
{{template "choose-donor" .}}

{{template "temp-server" .}}
# The temporary servers read the pod's own option files (the image's, and
# {{.ConfDir}} as init-mysql wrote it, with the user's): CLONE requires the
# recipient to match its donor in plugins, character set, collation and
# innodb_page_size, which are fixed when a data directory is initialised.
# What must differ is set here, after them: their own data directory, no
# network, no binary log, writable, and a buffer pool that fits the
# container's memory limit (a clone writes files, not pages).
server=({{.Server}} --skip-log-bin --read-only=OFF --super-read-only=OFF --innodb-buffer-pool-size=128M --mysqlx=OFF)

echo "clone-mysql: starting a temporary server to clone into"
"${server[@]}" "${server_user[@]}" --datadir="$staging/recipient" --log-error="$staging/recipient.err" --initialize-insecure
start_server "$staging/recipient.err" "${server[@]}" --datadir="$staging/recipient"{{if .TLS}} \
  --clone-ssl-ca={{.TLSCAFile}} --clone-ssl-cert={{.TLSCertFile}} --clone-ssl-key={{.TLSKeyFile}}{{end}}

# The temporary server runs this pod's version, and evaluates GTID sets.
local_version=$(local_sql -e "SELECT @@version")
[[ $local_version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] && local_version=${BASH_REMATCH[0]}
if [[ -n $recover_from ]]; then
  choose_recovery_donor
else
  choose_donor
fi
echo "clone-mysql: cloning from $source_host:{{.MySQLPort}} as $clone_user"
if ! {{.Client}} --no-defaults --socket="$socket" --user=root --init-command="$sql_session" <<SQL; then
SET GLOBAL clone_valid_donor_list = '$source_host:{{.MySQLPort}}';
CLONE INSTANCE FROM '$clone_user'@'$source_host':{{.MySQLPort}} IDENTIFIED BY '$clone_password' DATA DIRECTORY = '$staging/data'{{template "require-tls" .}};
SQL
  echo "clone-mysql: the clone from $source_host:{{.MySQLPort}} failed; the next start clones again" >&2
  exit 1
fi
echo "clone-mysql: cloned; stopping the temporary server"
stop_server

if [[ ! -f $staging/data/mysql.ibd ]]; then
  echo "clone-mysql: the clone from $source_host:{{.MySQLPort}} holds no database; the next start clones again" >&2
  exit 1
fi
# CLONE copies InnoDB's files only: a schema directory that holds none
# (performance_schema) comes over missing, and the server needs it to write
# table definitions there. Such directories are made empty, as a new server
# has them.
for dir in "$staging/recipient"/*/; do
  name=$(basename "$dir")
  if [[ ! -e $staging/data/$name ]]; then
    mkdir "$staging/data/$name"
    chown --reference="$staging/data" "$staging/data/$name"
  fi
done
if [[ -n $recover_from ]]; then
  # The clone becomes the primary: a server UUID of its own (a new
  # auto.cnf; the replicas would refuse the donor's), and no replication
  # channel (the donor's points at this pod). Its transactions are the
  # donor's, and replicas that hold no more position themselves on them.
  rm -f "$staging/data/auto.cnf"
  start_server "$staging/promote.err" "${server[@]}" --datadir="$staging/data" --skip-grant-tables --skip-slave-start
  local_sql -e "{{.Replication.Stop}}; {{.Replication.Reset}}"
  stop_server
  printf 'pod %s\n' "$recovered_from" >"$staging/data/{{.PromotedMarker}}"
  echo "clone-mysql: the clone of pod $recovered_from is the primary's: a new server UUID, no replication channel"
else
  # The sidecar starts replication on a fresh clone, once.
  : >"$staging/data/{{.StartReplicationMarker}}"
fi
if ! mv -T "$staging/data" "$data"; then
  echo "clone-mysql: cannot move the clone into {{.DataDir}}; nothing was deleted" >&2
  exit 1
fi
rm -rf "$staging"
echo "clone-mysql: clone from $source_host is in place"
