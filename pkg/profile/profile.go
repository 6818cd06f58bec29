// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package profile holds everything that differs between the database servers
// the webhook completes StatefulSets for: one Profile per server family and
// version range, resolved once per StatefulSet from the database image (and
// what the user states where the image cannot tell). What every profile
// shares (the pod contract) is in package contract. Other packages read a
// Profile's fields; none compares server names or versions.
package profile

import (
	"errors"
	"fmt"
)

// Family is a server family.
type Family string

// The families.
const (
	MySQL   Family = "mysql"
	MariaDB Family = "mariadb"
)

// CloneMethod is how a new replica gets its copy of the data.
type CloneMethod string

const (
	// CloneBackupStream streams a physical backup (xtrabackup,
	// mariadb-backup) from the previous pod's backup port and prepares it.
	CloneBackupStream CloneMethod = "backup-stream"
	// ClonePlugin runs MySQL's CLONE INSTANCE against the previous pod over
	// the MySQL protocol.
	ClonePlugin CloneMethod = "clone-plugin"
)

// ImageSource names which image an injected container runs.
type ImageSource string

const (
	// DatabaseImage is the image of the user's database container.
	DatabaseImage ImageSource = "database"
	// XtrabackupImage is the configured xtrabackup image.
	XtrabackupImage ImageSource = "xtrabackup"
)

// Replication holds the statements and status fields of a replication
// dialect.
type Replication struct {
	// ChangeSource starts the statement pointing a replica at its source;
	// Host, User, Password, ConnectRetry, RetryCount and AutoPosition are
	// its options; RetryCount is set only where the server's default gives
	// up within minutes (MySQL 8.0 and later: 10 attempts), not where it
	// retries for days (MySQL 5.7's and MariaDB's 86400).
	ChangeSource, Host, User, Password, ConnectRetry, RetryCount string
	// Start and Stop start and stop the replication threads; Reset forgets
	// a channel and its relay logs.
	Start, Stop, Reset string
	// Status is the status statement; StatusArgs are the client arguments
	// that print it one field a line.
	Status, StatusArgs string
	// IORunning and SQLRunning are the status fields of the two threads;
	// Lag is the one of how far behind its source the replica applies.
	IORunning, SQLRunning, Lag string
	// Grant is what the replication user is granted; StatusGrant, where
	// Status needs more, is granted as well where the server knows it.
	Grant, StatusGrant string
	// SSL, SSLCA and SSLVerify are the options of the source statement
	// that turn TLS on, name the authority the source's certificate must be
	// signed by, and have the name dialled checked against it.
	SSL, SSLCA, SSLVerify string
	// MaxPasswordLength is the longest replication password the server
	// takes (0: no limit known).
	MaxPasswordLength int
	// GTID replicas position themselves by GTID (auto-position); others by
	// the binary log file and position of their clone.
	GTID bool
	// SlavePos replicas position themselves by MariaDB's GTID: a new
	// replica sets gtid_slave_pos from its backup's GTID and connects with
	// MASTER_USE_GTID=slave_pos. The position is a row of an InnoDB table
	// written in the transaction it records, and a replica that restarts
	// fetches again from it, so a crash never applies a transaction twice.
	SlavePos bool
}

// Profile is what a server family and version range needs.
type Profile struct {
	// Name identifies the profile in messages and in the StatefulSet's
	// profile annotation.
	Name   string
	Family Family
	// Client and Admin are the command-line client and admin tool; Server
	// is the server's program.
	Client, Admin, Server string
	// Clone is how replicas clone; BackupTool and StreamTool are the
	// backup-stream tools.
	Clone                  CloneMethod
	BackupTool, StreamTool string
	// StreamHelper serves and receives backups with this project's binary,
	// copied into the pod, instead of ncat.
	StreamHelper bool
	// CloneImage and SidecarImage are the images of clone-mysql and the
	// sidecar.
	CloneImage, SidecarImage ImageSource
	// RootPasswordVariable and AllowEmptyPasswordVariable are the image's
	// variables for the root password.
	RootPasswordVariable, AllowEmptyPasswordVariable string
	// PrimaryConfig and ReplicaConfig are the .cnf files of the ConfigMap.
	PrimaryConfig, ReplicaConfig string
	Replication                  Replication
	// MaxPasswordLength is the longest password the server takes for an
	// account (0: no limit known); replication may take less
	// (Replication.MaxPasswordLength).
	MaxPasswordLength int
	// Durability is what every server's .cnf says of when a commit is on
	// disk and how long binary logs are kept: stated, not left to a server
	// version's defaults (MariaDB's keep binary logs forever and sync them
	// never). A later .cnf of the user's overrides any of it.
	Durability string
	// TLS: the server serves TLS with the pods' certificates, and every
	// connection between pods (replication, clone, backup stream) is TLS
	// that verifies the peer's certificate against the StatefulSet's
	// authority. Without it (MySQL 5.7 and the tutorial's ncat stream) only
	// the NetworkPolicy guards them.
	TLS bool
	// ClientVerifyTLS are the client's options that verify the server's
	// certificate and name against an authority, the file of which is %s.
	ClientVerifyTLS string
}

// ChecksDivergence tells whether a replica can compare its transactions
// with the primary's before it replicates: replicas positioned by GTID.
func (r Replication) ChecksDivergence() bool { return r.GTID || r.SlavePos }

var legacyReplication = Replication{
	ChangeSource: "CHANGE MASTER TO", Host: "MASTER_HOST", User: "MASTER_USER", Password: "MASTER_PASSWORD",
	ConnectRetry: "MASTER_CONNECT_RETRY",
	Start:        "START SLAVE", Stop: "STOP SLAVE", Reset: "RESET SLAVE ALL",
	Status: "SHOW SLAVE STATUS", StatusArgs: `-e 'SHOW SLAVE STATUS\G'`,
	IORunning: "Slave_IO_Running", SQLRunning: "Slave_SQL_Running", Lag: "Seconds_Behind_Master",
	Grant: "REPLICATION SLAVE, REPLICATION CLIENT",
	SSL:   "MASTER_SSL", SSLCA: "MASTER_SSL_CA", SSLVerify: "MASTER_SSL_VERIFY_SERVER_CERT",
}

// mysqlReplication is the legacy dialect with MySQL's limit on the
// replication password.
var mysqlReplication = func() Replication { r := legacyReplication; r.MaxPasswordLength = 32; return r }()

// mariaDBReplication is the legacy dialect positioned by MariaDB's GTID.
// Its Status needs SLAVE MONITOR (MariaDB 10.5.9 and later).
var mariaDBReplication = func() Replication {
	r := legacyReplication
	r.SlavePos, r.StatusGrant = true, "SLAVE MONITOR"
	return r
}()

// The profiles.
var (
	// MySQL57 is the tutorial's MySQL 5.7: xtrabackup streamed with ncat,
	// binary log positions.
	MySQL57 = Profile{
		Name: "mysql-5.7", Family: MySQL,
		Client: "mysql", Admin: "mysqladmin", Server: "mysqld",
		Clone: CloneBackupStream, BackupTool: "xtrabackup", StreamTool: "xbstream",
		CloneImage: XtrabackupImage, SidecarImage: XtrabackupImage,
		RootPasswordVariable: "MYSQL_ROOT_PASSWORD", AllowEmptyPasswordVariable: "MYSQL_ALLOW_EMPTY_PASSWORD",
		PrimaryConfig: "# Apply this config only on the master.\n[mysqld]\nlog-bin\n",
		ReplicaConfig: "# Apply this config only on slaves.\n[mysqld]\nsuper-read-only\n",
		Replication:   mysqlReplication,
		Durability:    durable + "expire_logs_days=30\n",
	}
	// MySQL8 is MySQL 8.0.23 and later (8.4 LTS, 9.x): the CLONE plugin
	// over the MySQL protocol, GTID auto-positioning.
	MySQL8 = Profile{
		Name: "mysql-8", Family: MySQL,
		Client: "mysql", Admin: "mysqladmin", Server: "mysqld",
		Clone:      ClonePlugin,
		CloneImage: DatabaseImage, SidecarImage: DatabaseImage,
		RootPasswordVariable: "MYSQL_ROOT_PASSWORD", AllowEmptyPasswordVariable: "MYSQL_ALLOW_EMPTY_PASSWORD",
		PrimaryConfig: "# Apply this config only on the primary.\n[mysqld]\nlog-bin\n" + modernServerConfig,
		ReplicaConfig: "# Apply this config only on replicas.\n[mysqld]\nsuper_read_only=ON\n" + modernServerConfig,
		// caching_sha2_password, the default authentication, takes at most
		// 256 characters.
		MaxPasswordLength: 256,
		Durability:        durable + "binlog_expire_logs_seconds=2592000\n",
		TLS:               true,
		ClientVerifyTLS:   "--ssl-mode=VERIFY_IDENTITY --ssl-ca=%s",
		Replication: Replication{
			ChangeSource: "CHANGE REPLICATION SOURCE TO", Host: "SOURCE_HOST", User: "SOURCE_USER",
			Password: "SOURCE_PASSWORD", ConnectRetry: "SOURCE_CONNECT_RETRY", RetryCount: "SOURCE_RETRY_COUNT",
			Start: "START REPLICA", Stop: "STOP REPLICA", Reset: "RESET REPLICA ALL",
			Status: "SHOW REPLICA STATUS", StatusArgs: `--vertical -e 'SHOW REPLICA STATUS'`,
			IORunning: "Replica_IO_Running", SQLRunning: "Replica_SQL_Running", Lag: "Seconds_Behind_Source",
			Grant: "REPLICATION SLAVE, REPLICATION CLIENT",
			SSL:   "SOURCE_SSL", SSLCA: "SOURCE_SSL_CA", SSLVerify: "SOURCE_SSL_VERIFY_SERVER_CERT",
			GTID: true, MaxPasswordLength: 32,
		},
	}
	// MariaDBProfile is MariaDB 10.5 and later: mariadb-backup streamed by
	// this project's helper, binary log positions.
	MariaDBProfile = Profile{
		Name: "mariadb", Family: MariaDB,
		Client: "mariadb", Admin: "mariadb-admin", Server: "mariadbd",
		Clone: CloneBackupStream, BackupTool: "mariadb-backup", StreamTool: "mbstream", StreamHelper: true,
		CloneImage: DatabaseImage, SidecarImage: DatabaseImage,
		RootPasswordVariable: "MARIADB_ROOT_PASSWORD", AllowEmptyPasswordVariable: "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD",
		PrimaryConfig:   "# Apply this config only on the master.\n[mysqld]\nlog-bin\n" + mariaDBGTIDConfig,
		ReplicaConfig:   "# Apply this config only on slaves.\n[mysqld]\nread-only\nlog-bin\n" + mariaDBGTIDConfig + mariaDBParallelApply,
		Replication:     mariaDBReplication,
		Durability:      durable + "expire_logs_days=30\n",
		TLS:             true,
		ClientVerifyTLS: "--ssl --ssl-ca=%s --ssl-verify-server-cert",
	}
)

// durable makes each commit durable on disk, in InnoDB and in the binary
// log, before it is acknowledged; each profile adds a binary log expiry of
// 30 days (MySQL 8's default) in its server's words.
const durable = "sync_binlog=1\ninnodb_flush_log_at_trx_commit=1\n"

// modernServerConfig is what every server of the MySQL8 profile needs:
// GTIDs for auto-positioning and the CLONE plugin (loaded from the
// configuration: INSTALL PLUGIN fails on a super_read_only server).
const modernServerConfig = "gtid_mode=ON\nenforce_gtid_consistency=ON\nplugin_load_add=mysql_clone.so\n"

// mariaDBGTIDConfig is what every MariaDB server needs for replicas that
// position themselves by GTID: strict mode refuses a transaction out of
// order (one written on a replica, or one applied twice) instead of
// diverging silently, and replicas write what they apply to a binary log
// of their own, so any of them could become the primary.
const mariaDBGTIDConfig = "log_slave_updates=ON\ngtid_strict_mode=ON\n"

// mariaDBParallelApply lets a MariaDB replica apply transactions in
// parallel (MariaDB applies one at a time by default), optimistically:
// transactions that conflict are retried, and every transaction still
// commits in the primary's order, so a replica never shows a state the
// primary did not have. One applier fsyncs its binary log and InnoDB log
// once per transaction and falls behind a primary that commits many
// sessions' transactions in one group.
const mariaDBParallelApply = "slave_parallel_threads=4\nslave_parallel_mode=optimistic\n"

// Profiles lists every profile.
func Profiles() []Profile { return []Profile{MySQL57, MySQL8, MariaDBProfile} }

// Errors of Resolve; the messages of the returned errors say more.
var (
	// ErrUnknownFamily: the image name does not tell the server family.
	ErrUnknownFamily = errors.New("the image does not tell which server it runs")
	// ErrUnknownVersion: neither the image tag nor the stated version tells
	// the server version.
	ErrUnknownVersion = errors.New("the image does not tell the server version")
	// ErrUnsupported: the version has no profile.
	ErrUnsupported = errors.New("unsupported server version")
	// ErrBadStatement: a stated family or version cannot be read.
	ErrBadStatement = errors.New("cannot read the stated server")
)

// Supported says which versions have a profile, for messages.
const Supported = "MySQL 5.7, MySQL 8.0.23 and later (8.4 LTS, 9.x), MariaDB 10.5 and later"

// Stated is what the user says about the server where the image cannot
// tell: a family ("mysql" or "mariadb") and a version ("8.4", "9.7.4").
// Empty fields say nothing.
type Stated struct {
	Family  string
	Version string
}

// knownNames maps the last path element of well-known images to their
// family.
var knownNames = map[string]Family{
	"mysql":             MySQL,
	"mysql-server":      MySQL,
	"community-server":  MySQL,
	"enterprise-server": MySQL,
	"percona":           MySQL,
	"percona-server":    MySQL,
	"mariadb":           MariaDB,
}

// Resolve picks the profile of a database image. The family comes from the
// stated family, else from the image name; the version from the stated
// version, else from the image tag (a known image without a tag, or with a
// word for a tag such as "latest" or "lts", is the newest release).
func Resolve(image string, stated Stated) (Profile, error) {
	ref := ParseImage(image)
	family, known := knownNames[ref.Name]
	switch Family(stated.Family) {
	case "":
		if !known {
			return Profile{}, fmt.Errorf("%w: image %q", ErrUnknownFamily, image)
		}
	case MySQL, MariaDB:
		family = Family(stated.Family)
	default:
		return Profile{}, fmt.Errorf("%w: family %q (use %q or %q)", ErrBadStatement, stated.Family, MySQL, MariaDB)
	}

	var v Version
	switch {
	case stated.Version != "":
		var ok bool
		if v, ok = ParseVersion(stated.Version); !ok || v.Newest {
			return Profile{}, fmt.Errorf("%w: version %q (use a release number such as 8.4 or 10.11.6)", ErrBadStatement, stated.Version)
		}
	case known && ref.Tag != "":
		var ok bool
		if v, ok = ParseVersion(ref.Tag); !ok {
			return Profile{}, fmt.Errorf("%w: tag %q of image %q", ErrUnknownVersion, ref.Tag, image)
		}
	case known && ref.Digest == "":
		v = Version{Newest: true}
	default:
		return Profile{}, fmt.Errorf("%w: image %q", ErrUnknownVersion, image)
	}

	p, ok := forVersion(family, v)
	if !ok {
		return Profile{}, fmt.Errorf("%w: %s %s (supported: %s)", ErrUnsupported, family, v, Supported)
	}
	return p, nil
}

func forVersion(family Family, v Version) (Profile, bool) {
	switch family {
	case MySQL:
		switch {
		case v.Newest, v.AtLeast(8, 0, 23):
			return MySQL8, true
		case v.Major == 5 && (v.Minor == 7 || v.Minor < 0):
			return MySQL57, true
		}
	case MariaDB:
		if v.Newest || v.AtLeast(10, 5, 0) {
			return MariaDBProfile, true
		}
	}
	return Profile{}, false
}
