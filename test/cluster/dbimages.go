// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/dbimage"
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
	// PreviousReleaseImage is release 61ddb15's webhook, installed before
	// this release to upgrade from it.
	PreviousReleaseImage = "mysql-replication-webhook:61ddb15"
	MySQLImage           = "mysql:9.7"
	MariaDBImage         = "mariadb:10.11"
	// MariaDB11Image is MariaDB 11.8, the current LTS, which the MariaDB
	// sample is upgraded to in place.
	MariaDB11Image = "mariadb:11.8"
)

// WebhookImageOf is the webhook's image: the static binaries at /webhook
// and /helper, run as the non-root user 65532, as the Dockerfile's
// distroless image.
func WebhookImageOf(webhook, helper string) (Image, error) {
	return distroless(WebhookImage, map[string]string{"/webhook": webhook, contract.HelperImagePath: helper})
}

// PreviousReleaseImageOf is the image of the release before this one, as
// its Dockerfile made it: its webhook binary (hack/build-release.sh) at
// /webhook, which was also its injected helper.
func PreviousReleaseImageOf(webhook string) (Image, error) {
	return distroless(PreviousReleaseImage, map[string]string{"/webhook": webhook})
}

// distroless is an image of static binaries (path in the image: file
// here) run as the non-root user 65532, as distroless/static:nonroot.
func distroless(name string, binaries map[string]string) (Image, error) {
	files := []File{
		{Path: "/etc/passwd", Mode: 0o644, Content: "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"},
		{Path: "/etc/group", Mode: 0o644, Content: "root:x:0:\nnonroot:x:65532:\n"},
		{Path: "/tmp", Mode: 0o1777, Dir: true},
		{Path: "/home/nonroot", Mode: 0o700, Dir: true},
	}
	for _, path := range slices.Sorted(maps.Keys(binaries)) {
		b, err := os.ReadFile(binaries[path])
		if err != nil {
			return Image{}, err
		}
		files = append(files, File{Path: path, Mode: 0o755, Content: string(b)})
	}
	return Image{Name: name, Files: files, Entrypoint: []string{"/webhook"}, User: "65532:65532"}, nil
}

// MySQLImageOf is a MySQL 9.7 image from a root filesystem that
// hack/setup-db-root.sh mysql-9 built. Its entrypoint behaves as the
// official image's: a data directory without a mysql directory is
// initialised on first start (root's password from MYSQL_ROOT_PASSWORD,
// root@'%', none of it in the binary log); the server runs as mysql.
func MySQLImageOf(root string) (Image, error) {
	return serverImage(MySQLImage, root, dbimage.MySQLConfig, dbimage.MySQLEntrypoint, "mysqld")
}

// MariaDBImageOf is a MariaDB 10.11 image from a root filesystem that
// hack/setup-db-root.sh mariadb built, with an entrypoint that initialises
// the data directory on first start as the official image does.
func MariaDBImageOf(root string) (Image, error) {
	return serverImage(MariaDBImage, root, dbimage.MariaDBConfig, dbimage.MariaDBEntrypoint, "mariadbd")
}

// MariaDB11ImageOf is the MariaDB 11.8 image, from the root filesystem
// that hack/setup-db-root.sh mariadb-11 built, with the same entrypoint.
func MariaDB11ImageOf(root string) (Image, error) {
	return serverImage(MariaDB11Image, root, dbimage.MariaDBConfig, dbimage.MariaDBEntrypoint, "mariadbd")
}

// ExporterImage is Prometheus' mysqld_exporter, as the webhook's
// default names it.
const ExporterImage = contract.DefaultExporterImage

// ExporterImageOf is the exporter's image from the root filesystem that
// hack/setup-db-root.sh mysqld-exporter built (Debian's build of the same
// version): as the official image, it starts the exporter, whose flags
// the pod gives, as nobody.
func ExporterImageOf(root string) (Image, error) {
	return Image{
		Name:       ExporterImage,
		Root:       root,
		Entrypoint: []string{"/usr/bin/prometheus-mysqld-exporter"},
		User:       "65534:65534",
	}, nil
}

// serverImage is the image name of a database server's root filesystem,
// with its my.cnf and its entrypoint, started with the server's binary.
func serverImage(name, root, config, entrypoint, server string) (Image, error) {
	files, err := serverFiles(root, config, entrypoint)
	return Image{
		Name:       name,
		Root:       root,
		Files:      files,
		Entrypoint: []string{"docker-entrypoint.sh"},
		Cmd:        []string{server},
	}, err
}
