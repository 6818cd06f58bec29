// Package scripts holds the shell scripts the webhook injects into a MySQL
// StatefulSet (init-mysql, clone-mysql and the xtrabackup sidecar) as real .sh
// files, and renders them with the names derived from the StatefulSet.
package scripts

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"sync"
	"text/template"
)

//go:embed *.sh
var files embed.FS

var templates = template.Must(template.New("scripts").Option("missingkey=error").ParseFS(files, "*.sh"))

// Script file names.
const (
	InitMySQL  = "init-mysql.sh"
	CloneMySQL = "clone-mysql.sh"
	Sidecar    = "xtrabackup.sh"
	Readiness  = "readiness.sh"
)

// ClientOptionFile is where init-mysql writes the root credentials for the
// clients of the other containers (a .opt file: the server reads only *.cnf).
const ClientOptionFile = "/etc/mysql/conf.d/client.opt"

// BackupPort is the port on which every pod serves backups to the next one.
const BackupPort = 3307

// HelperPath is where the MariaDB flavour finds the webhook binary, copied in
// by an init container, that streams backups in place of ncat.
const HelperPath = "/opt/mysql-replication/bin/webhook"

// Flavor selects the database tools the scripts call.
type Flavor string

// The supported flavours.
const (
	MySQL   Flavor = "mysql"
	MariaDB Flavor = "mariadb"
)

// Params are the names a script is rendered with.
type Params struct {
	// StatefulSet is the StatefulSet's name; pods are <StatefulSet>-<ordinal>.
	StatefulSet string
	// Service is the headless Service giving pods their DNS names.
	Service string
	// Flavor picks the client, backup and stream tools.
	Flavor Flavor
	// Credentials makes the scripts authenticate with the root password and
	// replicate as ReplicationUser; without it they use the tutorial's empty
	// root password.
	Credentials bool
	// ReplicationUser is the user replicas replicate as, with Credentials.
	ReplicationUser string
}

type values struct {
	StatefulSet, Service           string
	BackupPort                     int
	Client, BackupTool, StreamTool string
	ReceiveBackup, ServeBackup     string
	// ClientAuth, with its leading space, is the option that must come first
	// on a client's command line to authenticate ("" without credentials).
	ClientAuth      string
	Credentials     bool
	ReplicationUser string
	OptionFile      string
}

// dnsName is what a StatefulSet or Service name may look like; it keeps
// anything a shell would interpret out of the scripts.
var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func (p Params) values() (values, error) {
	for what, name := range map[string]string{"StatefulSet name": p.StatefulSet, "service name": p.Service} {
		if !dnsName.MatchString(name) || len(name) > 253 {
			return values{}, fmt.Errorf("%s %q is not a valid DNS name (lower case letters, digits, '-' and '.')", what, name)
		}
	}
	v := values{StatefulSet: p.StatefulSet, Service: p.Service, BackupPort: BackupPort, OptionFile: ClientOptionFile}
	if p.Credentials {
		if !dnsName.MatchString(p.ReplicationUser) {
			return values{}, fmt.Errorf("replication user %q is not a plain name", p.ReplicationUser)
		}
		v.Credentials, v.ReplicationUser = true, p.ReplicationUser
		v.ClientAuth = " --defaults-extra-file=" + ClientOptionFile
	}
	backupArgs := "--backup --slave-info --stream=xbstream --host=127.0.0.1 --user=root"
	if p.Credentials {
		// --defaults-extra-file must come first; it also names the user.
		backupArgs = "--defaults-extra-file=" + ClientOptionFile + " --backup --slave-info --stream=xbstream --host=127.0.0.1"
	}
	switch p.Flavor {
	case MySQL, "":
		v.Client, v.BackupTool, v.StreamTool = "mysql", "xtrabackup", "xbstream"
		v.ReceiveBackup = fmt.Sprintf(`ncat --recv-only "$source_host" %d`, BackupPort)
		v.ServeBackup = fmt.Sprintf(`exec ncat --listen --keep-open --send-only --max-conns=1 %d -c \
  "xtrabackup %s"`, BackupPort, backupArgs)
	case MariaDB:
		v.Client, v.BackupTool, v.StreamTool = "mariadb", "mariadb-backup", "mbstream"
		v.ReceiveBackup = fmt.Sprintf(`%s receive-backup "$source_host:%d"`, HelperPath, BackupPort)
		v.ServeBackup = fmt.Sprintf(`exec %s serve-backup --port %d -- \
  mariadb-backup %s`, HelperPath, BackupPort, backupArgs)
	default:
		return values{}, fmt.Errorf("unknown flavor %q", p.Flavor)
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
	v, err := p.values()
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := templates.ExecuteTemplate(&out, name, v); err != nil {
		return "", fmt.Errorf("rendering %s: %w", name, err)
	}
	return out.String(), nil
}

// Names lists the scripts in the order their containers run.
func Names() []string { return []string{InitMySQL, CloneMySQL, Sidecar, Readiness} }
