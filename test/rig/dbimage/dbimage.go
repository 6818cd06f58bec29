// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package dbimage holds what stands in for the official MySQL and MariaDB
// images in this project's tests, where no image can be pulled: their
// configuration (which includes the pod's conf volume) and their
// entrypoint, which initialises a data directory without a mysql directory
// on first start (root's password from the image's variable, root@'%', none
// of it in the binary log) and runs the server as the mysql user. The
// replication tests run them with chroot or on the host; the one-node
// cluster builds images of them.
package dbimage

import (
	"fmt"
	"strings"
)

// MySQLConfig is the MySQL image's /etc/mysql/my.cnf.
const MySQLConfig = `[client]
socket=/run/mysqld/mysqld.sock

[mysqld]
user=mysql
datadir=/var/lib/mysql
socket=/run/mysqld/mysqld.sock
pid-file=/run/mysqld/mysqld.pid
bind-address=0.0.0.0
port=3306
skip-name-resolve
mysqlx=OFF
innodb_buffer_pool_size=32M
innodb_redo_log_capacity=16M
innodb_flush_log_at_trx_commit=2
sync_binlog=0
performance_schema=OFF

!includedir /etc/mysql/conf.d/
`

// MariaDBConfig is the MariaDB image's /etc/mysql/my.cnf.
const MariaDBConfig = `[client-server]
socket=/run/mysqld/mysqld.sock

[mysqld]
user=mysql
datadir=/var/lib/mysql
pid-file=/run/mysqld/mysqld.pid
bind-address=0.0.0.0
port=3306
skip-name-resolve
innodb_buffer_pool_size=16M
innodb_log_file_size=8M
innodb_flush_log_at_trx_commit=2
sync_binlog=0
performance_schema=OFF

!includedir /etc/mysql/conf.d/
`

// MySQLEntrypoint is the MySQL image's entrypoint: run it with the
// server's name ("mysqld") and its arguments.
var MySQLEntrypoint = entrypoint(server{
	names:    "mysqld",
	install:  `mysqld --initialize-insecure "${as[@]}"`,
	password: "${MYSQL_ROOT_PASSWORD:-}",
	binary:   "mysqld",
})

// MariaDBEntrypoint is the MariaDB image's entrypoint: run it with the
// server's name ("mariadbd", or "mysqld") and its arguments.
var MariaDBEntrypoint = entrypoint(server{
	names:    "mariadbd|mysqld",
	install:  `mariadb-install-db --datadir=/var/lib/mysql "${as[@]}" --skip-test-db`,
	password: "${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}",
	initSQL: []string{
		"DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host<>'localhost');",
		"FLUSH PRIVILEGES;",
	},
	binary: "mariadbd",
})

// server is what differs between the two images' entrypoints.
type server struct {
	names    string   // the first arguments that start the server, as a bash pattern
	install  string   // initialises /var/lib/mysql; "${as[@]}" is --user=mysql when run as root
	password string   // root's password, from the environment
	initSQL  []string // run before root's password is set
	binary   string
}

func entrypoint(s server) string {
	var sql strings.Builder
	for _, stmt := range append(s.initSQL,
		"ALTER USER 'root'@'localhost' IDENTIFIED BY '$password';",
		"CREATE USER 'root'@'%' IDENTIFIED BY '$password';",
		"GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;") {
		fmt.Fprintf(&sql, "    \"%s\" \\\n", stmt)
	}
	return strings.NewReplacer("NAMES", s.names, "INSTALL", s.install, "PASSWORD", s.password, "SQL\n", sql.String(), "BINARY", s.binary).Replace(`#!/bin/bash
set -euo pipefail
if [[ ! ${1:-} =~ ^(NAMES)$ ]]; then
  exec "$@"
fi
shift
if [[ $(id -u) == 0 ]]; then
  mkdir -p /run/mysqld
  chown -R mysql:mysql /var/lib/mysql /run/mysqld
fi
init=()
if [[ ! -d /var/lib/mysql/mysql ]]; then
  echo "entrypoint: initialising the data directory"
  as=()
  if [[ $(id -u) == 0 ]]; then as=(--user=mysql); fi
  if ! INSTALL >/run/mysqld/install.log 2>&1; then
    cat /run/mysqld/install.log >&2
    exit 1
  fi
  password=PASSWORD
  password=${password//\\/\\\\}
  password=${password//\'/\\\'}
  password=${password//$'\n'/\\n}
  umask 077
  printf "%s\n" \
    "SET @@SESSION.SQL_LOG_BIN=0;" \
SQL
    >/run/mysqld/init.sql
  if [[ $(id -u) == 0 ]]; then chown mysql /run/mysqld/init.sql; fi
  init=(--init-file=/run/mysqld/init.sql)
fi
exec BINARY "${init[@]}" "$@"
`)
}
