package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// mysqlUID is the mysql user of the official MySQL and MariaDB images, which
// the webhook's pods run as.
const mysqlUID = 999

// serverFiles are what an image adds to a server's root filesystem: the
// mysql user and group at 999 as in the official images, the directories
// the server writes owned by it, the configuration and the entrypoint.
func serverFiles(root, config, entrypoint string) ([]File, error) {
	files := []File{
		{Path: "/etc/mysql/my.cnf", Mode: 0o644, Content: config},
		{Path: "/usr/local/bin/docker-entrypoint.sh", Mode: 0o755, Content: entrypoint},
		{Path: "/var/lib/mysql", Mode: 0o755, Dir: true, UID: mysqlUID, GID: mysqlUID},
		{Path: "/run/mysqld", Mode: 0o755, Dir: true, UID: mysqlUID, GID: mysqlUID},
	}
	for _, f := range []struct{ path, re, repl string }{
		{"etc/passwd", `(?m)^mysql:x:\d+:\d+:`, fmt.Sprintf("mysql:x:%d:%d:", mysqlUID, mysqlUID)},
		{"etc/group", `(?m)^mysql:x:\d+:`, fmt.Sprintf("mysql:x:%d:", mysqlUID)},
	} {
		b, err := os.ReadFile(filepath.Join(root, f.path))
		if err != nil {
			return nil, err
		}
		re := regexp.MustCompile(f.re)
		if !re.Match(b) {
			return nil, fmt.Errorf("%s has no mysql entry", filepath.Join(root, f.path))
		}
		files = append(files, File{Path: "/" + f.path, Mode: 0o644, Content: re.ReplaceAllString(string(b), f.repl)})
	}
	return files, nil
}

// The images of this project's tests, named as pods and the webhook's
// defaults name them.
const (
	WebhookImage = "mysql-replication-webhook:e2e"
	MySQLImage   = "mysql:9.7"
	MariaDBImage = "mariadb:10.11"
)

// WebhookImageOf is the webhook's image: the static binary at /webhook,
// run as the non-root user 65532, as the Dockerfile's distroless image.
func WebhookImageOf(binary string) (Image, error) {
	b, err := os.ReadFile(binary)
	if err != nil {
		return Image{}, err
	}
	return Image{
		Name: WebhookImage,
		Files: []File{
			{Path: "/webhook", Mode: 0o755, Content: string(b)},
			{Path: "/etc/passwd", Mode: 0o644, Content: "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"},
			{Path: "/etc/group", Mode: 0o644, Content: "root:x:0:\nnonroot:x:65532:\n"},
			{Path: "/tmp", Mode: 0o1777, Dir: true},
			{Path: "/home/nonroot", Mode: 0o700, Dir: true},
		},
		Entrypoint: []string{"/webhook"},
		User:       "65532:65532",
	}, nil
}

// MySQLImageOf is a MySQL 9.7 image from a root filesystem that
// hack/setup-db-root.sh mysql-9 built. Its entrypoint behaves as the
// official image's: a data directory without a mysql directory is
// initialised on first start (root's password from MYSQL_ROOT_PASSWORD,
// root@'%', none of it in the binary log); the server runs as mysql.
func MySQLImageOf(root string) (Image, error) {
	files, err := serverFiles(root, mysqlConfig, mysqlEntrypoint)
	return Image{
		Name:       MySQLImage,
		Root:       root,
		Files:      files,
		Entrypoint: []string{"docker-entrypoint.sh"},
		Cmd:        []string{"mysqld"},
	}, err
}

// MariaDBImageOf is a MariaDB 10.11 image from a root filesystem that
// hack/setup-db-root.sh mariadb built, with an entrypoint that initialises
// the data directory on first start as the official image does.
func MariaDBImageOf(root string) (Image, error) {
	files, err := serverFiles(root, mariadbConfig, mariadbEntrypoint)
	return Image{
		Name:       MariaDBImage,
		Root:       root,
		Files:      files,
		Entrypoint: []string{"docker-entrypoint.sh"},
		Cmd:        []string{"mariadbd"},
	}, err
}

const mysqlConfig = `[client]
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

const mysqlEntrypoint = `#!/bin/bash
set -euo pipefail
if [[ ${1:-} != mysqld ]]; then
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
  if ! mysqld --initialize-insecure >/run/mysqld/initialize.log 2>&1; then
    cat /run/mysqld/initialize.log >&2
    exit 1
  fi
  password=${MYSQL_ROOT_PASSWORD:-}
  password=${password//\\/\\\\}
  password=${password//\'/\\\'}
  umask 077
  printf "%s\n" \
    "SET @@SESSION.SQL_LOG_BIN=0;" \
    "ALTER USER 'root'@'localhost' IDENTIFIED BY '$password';" \
    "CREATE USER 'root'@'%' IDENTIFIED BY '$password';" \
    "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;" >/run/mysqld/init.sql
  if [[ $(id -u) == 0 ]]; then chown mysql /run/mysqld/init.sql; fi
  init=(--init-file=/run/mysqld/init.sql)
fi
exec mysqld "${init[@]}" "$@"
`

const mariadbConfig = `[client-server]
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

const mariadbEntrypoint = `#!/bin/bash
set -euo pipefail
if [[ ${1:-} != mariadbd && ${1:-} != mysqld ]]; then
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
  if ! mariadb-install-db --datadir=/var/lib/mysql "${as[@]}" --skip-test-db >/run/mysqld/install-db.log 2>&1; then
    cat /run/mysqld/install-db.log >&2
    exit 1
  fi
  password=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}
  password=${password//\\/\\\\}
  password=${password//\'/\\\'}
  umask 077
  printf "%s\n" \
    "SET @@SESSION.SQL_LOG_BIN=0;" \
    "DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host<>'localhost');" \
    "FLUSH PRIVILEGES;" \
    "ALTER USER 'root'@'localhost' IDENTIFIED BY '$password';" \
    "CREATE USER 'root'@'%' IDENTIFIED BY '$password';" \
    "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;" >/run/mysqld/init.sql
  if [[ $(id -u) == 0 ]]; then chown mysql /run/mysqld/init.sql; fi
  init=(--init-file=/run/mysqld/init.sql)
fi
exec mariadbd "${init[@]}" "$@"
`
