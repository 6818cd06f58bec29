#!/bin/bash
# clone-mysql: on a replica whose data directory is still empty, clones the
# previous pod of StatefulSet {{.StatefulSet}} with MySQL's CLONE plugin, over
# the MySQL protocol. A temporary server in this container runs CLONE INSTANCE
# into a staging directory on the data volume, and only a complete clone is
# moved into place, by one rename that fails rather than replace anything. A
# clone that was cut off leaves only the staging directory behind; the next
# start removes it and clones again. A database is never deleted.
set -euo pipefail

{{template "clone-start" .}}
mkdir -p "$staging"
server_user=()
if [[ $(id -u) -eq 0 ]]; then
  chown mysql:mysql "$staging"
  server_user=(--user=mysql)
fi

{{template "sql-quote"}}
{{- if .Credentials}}
clone_user={{.CloneUser}}
clone_password=$(sql_quote "${CLONE_PASSWORD:?the credentials Secret has no clone-password}")
{{- else}}
clone_user=root
clone_password=
{{- end}}

source_host="{{.StatefulSet}}-$((ordinal - 1)).{{.Service}}"
socket=$staging/mysqld.sock
server=(mysqld --no-defaults "${server_user[@]}" --datadir="$staging/recipient" --log-error="$staging/recipient.err")

echo "clone-mysql: starting a temporary server to clone $source_host:{{.Port}} into"
"${server[@]}" --initialize-insecure
"${server[@]}" --socket="$socket" --pid-file="$staging/mysqld.pid" --skip-networking --mysqlx=OFF \
  --skip-log-bin --plugin-load-add=mysql_clone.so &
server_pid=$!
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}
trap stop_server EXIT
until {{.Admin}} --no-defaults --socket="$socket" --user=root ping >/dev/null 2>&1; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "clone-mysql: the temporary server did not start:" >&2
    tail -n 20 "$staging/recipient.err" >&2 || true
    exit 1
  fi
  sleep 1
done

echo "clone-mysql: cloning from $source_host:{{.Port}} as $clone_user"
if ! {{.Client}} --no-defaults --socket="$socket" --user=root <<SQL; then
SET GLOBAL clone_valid_donor_list = '$source_host:{{.Port}}';
CLONE INSTANCE FROM '$clone_user'@'$source_host':{{.Port}} IDENTIFIED BY '$clone_password' DATA DIRECTORY = '$staging/data';
SQL
  echo "clone-mysql: the clone from $source_host:{{.Port}} failed; the next start clones again" >&2
  exit 1
fi
{{.Admin}} --no-defaults --socket="$socket" --user=root shutdown >/dev/null 2>&1 || true
stop_server
trap - EXIT

if [[ ! -f $staging/data/mysql.ibd ]]; then
  echo "clone-mysql: the clone from $source_host:{{.Port}} holds no database; the next start clones again" >&2
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
# The sidecar starts replication on a fresh clone, once.
: >"$staging/data/{{.StartMarker}}"
if ! mv -T "$staging/data" "$data"; then
  echo "clone-mysql: cannot move the clone into {{.DataDir}}; nothing was deleted" >&2
  exit 1
fi
rm -rf "$staging"
echo "clone-mysql: clone from $source_host is in place"
