// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package scripts holds the shell scripts the webhook injects into a MySQL
// StatefulSet (init-mysql, clone-mysql, the xtrabackup sidecar and the
// readiness probe) as real .sh files, and renders them with the names derived
// from the StatefulSet, the pod contract and the server's profile.
package scripts

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"sync"
	"text/template"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/profile"
)

//go:embed *.sh *.tmpl
var files embed.FS

var templates = template.Must(template.New("scripts").Option("missingkey=error").ParseFS(files, "*.sh", "*.tmpl"))

// Script names; Render picks the file of the profile's clone method.
const (
	InitMySQL  = "init-mysql.sh"
	CloneMySQL = "clone-mysql.sh"
	Sidecar    = "xtrabackup.sh"
	Readiness  = "readiness.sh"
)

// files of the clone-plugin profile where they differ.
var clonePluginFiles = map[string]string{
	CloneMySQL: "clone-plugin.sh",
	Sidecar:    "replication-gtid.sh",
}

// Params are what a script is rendered with.
type Params struct {
	// StatefulSet is the StatefulSet's name; pods are <StatefulSet>-<ordinal>.
	StatefulSet string
	// Service is the headless Service giving pods their DNS names.
	Service string
	// ClusterDomain is the cluster's DNS domain: pods reach each other by
	// <pod>.<Service>.<namespace>.svc.<ClusterDomain>.
	ClusterDomain string
	// Profile holds the server's tools, statements and clone method.
	Profile profile.Profile
	// Credentials makes the scripts authenticate with the root password,
	// replicate as contract.ReplicationUser and clone as
	// contract.CloneUser; without it they use the tutorial's empty root
	// password.
	Credentials bool
	// MaxLagSeconds is the most seconds a replica may apply behind its
	// primary and be ready; ReconnectGraceSeconds how long it stays ready
	// while it reconnects to its primary. Zero is the default of each.
	MaxLagSeconds, ReconnectGraceSeconds int
	// Metrics: init-mysql writes the exporter's option file and the
	// primary's sidecar keeps the metrics user (contract.MetricsAnnotation;
	// with Credentials only).
	Metrics bool
}

// contractNames are the names of the pod contract the scripts use, each under its
// name in package contract: the templates write none of them literally (a
// test checks it).
type contractNames struct {
	MySQLPort, BackupPort                                     int
	DataDir, DataSubPath, DataVolumeDir, StagingDir           string
	MovingDir                                                 string
	StartReplicationMarker, RefusedMarker, DivergedPrefix     string
	ReconnectingMarker, MaxLagAnnotation                      string
	ReconnectGraceAnnotation                                  string
	RecloneEnv, RecloneAnnotation, RecloneOnDivergence        string
	MemoryEnv                                                 string
	InitializedDir, InitializedKey, InitializedTail           string
	RecoverFromKey, PromotedMarker                            string
	EmptyPrimaryMessage                                       string
	ConfDir, InitConfDir, ConfigMapDir, ClientOptionFile      string
	ClientOptionName, PrimaryConfigKey, ReplicaConfigKey      string
	PodIndexEnv, PodNamespaceEnv, RootPasswordEnv             string
	ReplicationPasswordEnv, ClonePasswordEnv                  string
	RootPasswordKey, ReplicationPasswordKey, ClonePasswordKey string
	ReplicationUser, CloneUser, DatabaseUserName, HelperPath  string
	TLSDir, TLSCAFile, TLSCertFile, TLSKeyFile                string
	MetricsUser, InitMetricsDir, MetricsOptionName            string
}

// podContract holds the contract's names as the templates see them.
var podContract = contractNames{
	MySQLPort: contract.MySQLPort, BackupPort: contract.BackupPort,
	DataDir: contract.DataDir, DataSubPath: contract.DataSubPath, DataVolumeDir: contract.DataVolumeDir, StagingDir: contract.StagingDir,
	MovingDir:              contract.MovingDir,
	StartReplicationMarker: contract.StartReplicationMarker, RefusedMarker: contract.RefusedMarker, DivergedPrefix: contract.DivergedPrefix,
	ReconnectingMarker: contract.ReconnectingMarker, MaxLagAnnotation: contract.MaxLagAnnotation, ReconnectGraceAnnotation: contract.ReconnectGraceAnnotation,
	RecloneEnv: contract.RecloneEnv, RecloneAnnotation: contract.RecloneAnnotation, RecloneOnDivergence: contract.RecloneOnDivergence,
	MemoryEnv:      contract.MemoryEnv,
	InitializedDir: contract.InitializedDir, InitializedKey: contract.InitializedKey, InitializedTail: contract.InitializedTail,
	RecoverFromKey: contract.RecoverFromKey, PromotedMarker: contract.PromotedMarker,
	EmptyPrimaryMessage: contract.EmptyPrimaryMessage,
	ConfDir:             contract.ConfDir, InitConfDir: contract.InitConfDir, ConfigMapDir: contract.ConfigMapDir, ClientOptionFile: contract.ClientOptionFile,
	ClientOptionName: contract.ClientOptionName, PrimaryConfigKey: contract.PrimaryConfigKey, ReplicaConfigKey: contract.ReplicaConfigKey,
	PodIndexEnv: contract.PodIndexEnv, PodNamespaceEnv: contract.PodNamespaceEnv, RootPasswordEnv: contract.RootPasswordEnv,
	ReplicationPasswordEnv: contract.ReplicationPasswordEnv, ClonePasswordEnv: contract.ClonePasswordEnv,
	RootPasswordKey: contract.RootPasswordKey, ReplicationPasswordKey: contract.ReplicationPasswordKey, ClonePasswordKey: contract.ClonePasswordKey,
	ReplicationUser: contract.ReplicationUser, CloneUser: contract.CloneUser, DatabaseUserName: contract.DatabaseUserName,
	HelperPath: contract.HelperPath,
	TLSDir:     contract.TLSDir, TLSCAFile: contract.TLSCAFile, TLSCertFile: contract.TLSCertFile, TLSKeyFile: contract.TLSKeyFile,
	MetricsUser: contract.MetricsUser, InitMetricsDir: contract.InitMetricsDir, MetricsOptionName: contract.MetricsOptionName,
}

// values are what the templates see: the names of the pod contract, the
// StatefulSet's names and the profile's.
type values struct {
	contractNames
	StatefulSet, Service string
	ClusterDomain        string
	Client, Admin        string
	Server               string
	BackupTool           string
	StreamTool           string
	ReceiveBackup        string
	ServeBackup          string
	// ClientAuth, with its leading space, is the option that must come first
	// on a client's command line to authenticate ("" without credentials).
	ClientAuth  string
	Credentials bool
	Replication profile.Replication
	// MaxPasswordLength is the longest password the server takes for an
	// account (0: no limit known).
	MaxPasswordLength int
	// TLS: every connection to another pod is TLS that verifies the peer.
	TLS bool
	// ClientVerifyTLS are the client's options that verify the server's
	// certificate against the pods' authority.
	ClientVerifyTLS string
	// ChecksDivergence: a replica's sidecar compares its transactions
	// with the primary's before it replicates, and a new replica chooses
	// its donor.
	ChecksDivergence bool
	// MariaDBGTIDList matches a MariaDB GTID list (domain-server-sequence,
	// comma-separated), or nothing; MySQLGTIDSet a MySQL GTID set (its
	// server's \n line breaks removed).
	MariaDBGTIDList, MySQLGTIDSet string
	// MaxLagSeconds and ReconnectGraceSeconds bound a replica's readiness.
	MaxLagSeconds, ReconnectGraceSeconds int
	// Metrics: see Params.
	Metrics bool
}

// The readiness of a replica by default: at most a minute behind its
// primary, and ready for two minutes while its primary does not answer
// (a restart of the primary).
const (
	DefaultMaxLagSeconds         = 60
	DefaultReconnectGraceSeconds = 120
)

// mariaDBGTIDList is a bash regular expression for a MariaDB GTID list.
const mariaDBGTIDList = `^([0-9]+-[0-9]+-[0-9]+(,[0-9]+-[0-9]+-[0-9]+)*)?$`

// mySQLGTIDSet is a bash regular expression for a MySQL GTID set.
const mySQLGTIDSet = `^[0-9a-fA-F:,-]*$`

// peersArgs are what the "pod-host" template names other pods with.
type peersArgs struct{ Who, Env, StatefulSet, Service, ClusterDomain string }

// Peers hands the "pod-host" template the script's name for its messages.
func (v values) Peers(who string) peersArgs {
	return peersArgs{Who: who, Env: v.PodNamespaceEnv, StatefulSet: v.StatefulSet, Service: v.Service, ClusterDomain: v.ClusterDomain}
}

// ordinalArgs are what the "ordinal" template reads the pod's ordinal with.
type ordinalArgs struct{ Who, Env string }

// Ordinal hands the "ordinal" template the script's name for its messages.
func (v values) Ordinal(who string) ordinalArgs { return ordinalArgs{Who: who, Env: v.PodIndexEnv} }

// passwordLimit is what the "password-length" template refuses a
// password with.
type passwordLimit struct {
	Who, Env, Key, Taker string
	Max                  int
}

// PasswordLimit is the longest password in the variable env that the
// script who can use: what the server takes for that account and what an
// option file line holds once the password is escaped.
func (v values) PasswordLimit(who, env string) passwordLimit {
	l := passwordLimit{Who: who, Env: env, Taker: "an option file", Max: contract.MaxPasswordLength}
	server := v.MaxPasswordLength
	switch env {
	case v.RootPasswordEnv:
		l.Key = v.RootPasswordKey
	case v.ReplicationPasswordEnv:
		l.Key = v.ReplicationPasswordKey
		if v.Replication.MaxPasswordLength > 0 {
			server = v.Replication.MaxPasswordLength
		}
	case v.ClonePasswordEnv:
		l.Key = v.ClonePasswordKey
	}
	if server > 0 && server < l.Max {
		l.Taker, l.Max = "the server", server
	}
	return l
}

// quotedPassword is what the "quote-password" template sets a variable to
// a password's SQL string with.
type quotedPassword struct {
	passwordLimit
	Var string
}

// QuotedPassword hands the "quote-password" template the variable to set
// and the limit of the password in the variable env.
func (v values) QuotedPassword(variable, env string) quotedPassword {
	return quotedPassword{passwordLimit: v.PasswordLimit("", env), Var: variable}
}

// dnsName is what a StatefulSet or Service name may look like; it keeps
// anything a shell would interpret out of the scripts.
var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func (p Params) values(names contractNames) (values, error) {
	for what, name := range map[string]string{"StatefulSet name": p.StatefulSet, "service name": p.Service, "cluster domain": p.ClusterDomain} {
		if !dnsName.MatchString(name) || len(name) > 253 {
			return values{}, fmt.Errorf("%s %q is not a valid DNS name (lower case letters, digits, '-' and '.')", what, name)
		}
	}
	prof := p.Profile
	if prof.Name == "" {
		return values{}, fmt.Errorf("no server profile given")
	}
	v := values{
		contractNames: names,
		StatefulSet:   p.StatefulSet, Service: p.Service, ClusterDomain: p.ClusterDomain,
		MariaDBGTIDList: mariaDBGTIDList, MySQLGTIDSet: mySQLGTIDSet,
		Client: prof.Client, Admin: prof.Admin, Server: prof.Server, BackupTool: prof.BackupTool, StreamTool: prof.StreamTool,
		Replication: prof.Replication, MaxPasswordLength: prof.MaxPasswordLength, TLS: prof.TLS,
		ChecksDivergence: prof.Replication.ChecksDivergence(),
		MaxLagSeconds:    p.MaxLagSeconds, ReconnectGraceSeconds: p.ReconnectGraceSeconds,
		Metrics: p.Metrics && p.Credentials,
	}
	// Zero is the default.
	if v.MaxLagSeconds <= 0 {
		v.MaxLagSeconds = DefaultMaxLagSeconds
	}
	if v.ReconnectGraceSeconds <= 0 {
		v.ReconnectGraceSeconds = DefaultReconnectGraceSeconds
	}
	if prof.TLS {
		v.ClientVerifyTLS = fmt.Sprintf(prof.ClientVerifyTLS, names.TLSCAFile)
	}
	if p.Credentials {
		v.Credentials = true
		v.ClientAuth = " --defaults-extra-file=" + names.ClientOptionFile
	}
	if prof.Clone != profile.CloneBackupStream {
		return v, nil
	}
	backupArgs := "--backup --slave-info --stream=xbstream --host=127.0.0.1 --user=root"
	if p.Credentials {
		// --defaults-extra-file must come first; it also names the user.
		backupArgs = "--defaults-extra-file=" + names.ClientOptionFile + " --backup --slave-info --stream=xbstream --host=127.0.0.1"
	}
	if prof.StreamHelper {
		// On a replica, mariadb-backup stops the replication SQL thread while
		// it copies what is not InnoDB, so that the position it records is
		// the data's, and starts it again (nothing on the primary). The
		// tutorial's ncat ends the command with the stream, before it could.
		backupArgs += " --safe-slave-backup"
		v.ReceiveBackup = fmt.Sprintf(`%s receive-backup --tls-dir %s "$source_host:%d"`, names.HelperPath, names.TLSDir, names.BackupPort)
		v.ServeBackup = fmt.Sprintf(`exec %s serve-backup --port %d --tls-dir %s -- \
  %s %s`, names.HelperPath, names.BackupPort, names.TLSDir, prof.BackupTool, backupArgs)
	} else {
		v.ReceiveBackup = fmt.Sprintf(`ncat --recv-only "$source_host" %d`, names.BackupPort)
		// ncat has no SIGTERM handler: as the container's first process it
		// would ignore the pod's deletion; bash waits for it and exits on
		// SIGTERM, which ends the container.
		v.ServeBackup = fmt.Sprintf(`ncat --listen --keep-open --send-only --max-conns=1 %d -c \
  "%s %s" &
wait $!`, names.BackupPort, prof.BackupTool, backupArgs)
	}
	return v, nil
}

// rendered remembers scripts already rendered: a script depends only on its
// name and Params, and a cluster has few distinct ones, so most admissions
// render nothing. Bounded: it starts over when full.
var rendered struct {
	sync.Mutex
	scripts map[renderKey]string
}

type renderKey struct {
	name string
	p    Params
}

const renderedLimit = 1024

// Render renders the named script (InitMySQL, CloneMySQL, Sidecar or
// Readiness).
func Render(name string, p Params) (string, error) {
	key := renderKey{name, p}
	rendered.Lock()
	script, ok := rendered.scripts[key]
	rendered.Unlock()
	if ok {
		return script, nil
	}
	script, err := render(name, p)
	if err != nil {
		return "", err
	}
	rendered.Lock()
	if rendered.scripts == nil || len(rendered.scripts) >= renderedLimit {
		rendered.scripts = make(map[renderKey]string)
	}
	rendered.scripts[key] = script
	rendered.Unlock()
	return script, nil
}

func render(name string, p Params) (string, error) {
	return renderWith(name, p, podContract)
}

// renderWith renders with the contract's names replaced by names.
func renderWith(name string, p Params, names contractNames) (string, error) {
	v, err := p.values(names)
	if err != nil {
		return "", err
	}
	file := name
	if f, ok := clonePluginFiles[name]; ok && p.Profile.Clone == profile.ClonePlugin {
		file = f
	}
	var out bytes.Buffer
	if err := templates.ExecuteTemplate(&out, file, v); err != nil {
		return "", fmt.Errorf("rendering %s: %w", name, err)
	}
	return out.String(), nil
}

// Names lists the scripts in the order their containers run.
func Names() []string { return []string{InitMySQL, CloneMySQL, Sidecar, Readiness} }
