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

// Re-exported from the pod contract for the callers of this package.
const (
	ClientOptionFile = profile.ClientOptionFile
	BackupPort       = profile.BackupPort
	HelperPath       = profile.HelperPath
)

// Params are what a script is rendered with.
type Params struct {
	// StatefulSet is the StatefulSet's name; pods are <StatefulSet>-<ordinal>.
	StatefulSet string
	// Service is the headless Service giving pods their DNS names.
	Service string
	// Profile holds the server's tools, statements and clone method.
	Profile profile.Profile
	// Credentials makes the scripts authenticate with the root password,
	// replicate as ReplicationUser and clone as CloneUser; without it they
	// use the tutorial's empty root password.
	Credentials bool
	// ReplicationUser is the user replicas replicate as, and CloneUser the
	// user a clone-plugin replica clones as, with Credentials.
	ReplicationUser, CloneUser string
}

// values are what the templates see: the pod contract, the profile and the
// names.
type values struct {
	StatefulSet, Service string
	BackupPort, Port     int
	DataDir, DataSubPath string
	DataVolumeDir        string
	StagingDir           string
	InitializedDir       string
	InitializedKey       string
	InitializedTail      string
	EmptyPrimaryMessage  string
	StartMarker          string
	InitConfDir          string
	ConfigMapDir         string
	PrimaryConfigKey     string
	ReplicaConfigKey     string
	Client, Admin        string
	BackupTool           string
	StreamTool           string
	ReceiveBackup        string
	ServeBackup          string
	// ClientAuth, with its leading space, is the option that must come first
	// on a client's command line to authenticate ("" without credentials).
	ClientAuth      string
	Credentials     bool
	ReplicationUser string
	CloneUser       string
	OptionFile      string
	InitOptionFile  string
	Replication     profile.Replication
}

// ordinalArgs are what the "ordinal" template reads the pod's ordinal with.
type ordinalArgs struct{ Who, Env string }

// Ordinal hands the "ordinal" template the script's name for its messages.
func (values) Ordinal(who string) ordinalArgs { return ordinalArgs{Who: who, Env: profile.PodIndexEnv} }

// dnsName is what a StatefulSet or Service name may look like; it keeps
// anything a shell would interpret out of the scripts.
var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func (p Params) values() (values, error) {
	for what, name := range map[string]string{"StatefulSet name": p.StatefulSet, "service name": p.Service} {
		if !dnsName.MatchString(name) || len(name) > 253 {
			return values{}, fmt.Errorf("%s %q is not a valid DNS name (lower case letters, digits, '-' and '.')", what, name)
		}
	}
	prof := p.Profile
	if prof.Name == "" {
		return values{}, fmt.Errorf("no server profile given")
	}
	v := values{
		StatefulSet: p.StatefulSet, Service: p.Service,
		BackupPort: profile.BackupPort, Port: profile.MySQLPort,
		DataDir: profile.DataDir, DataSubPath: profile.DataSubPath, DataVolumeDir: profile.DataVolumeDir, StagingDir: profile.StagingDir, InitializedDir: profile.InitializedDir, InitializedKey: profile.InitializedKey,
		InitializedTail: profile.InitializedTail, EmptyPrimaryMessage: profile.EmptyPrimaryMessage, StartMarker: profile.StartReplicationMarker,
		InitConfDir: profile.InitConfDir, ConfigMapDir: profile.ConfigMapDir,
		PrimaryConfigKey: profile.PrimaryConfigKey, ReplicaConfigKey: profile.ReplicaConfigKey,
		OptionFile: profile.ClientOptionFile, InitOptionFile: profile.InitConfDir + "/" + profile.ClientOptionName,
		Client: prof.Client, Admin: prof.Admin, BackupTool: prof.BackupTool, StreamTool: prof.StreamTool,
		Replication: prof.Replication,
	}
	if p.Credentials {
		for what, user := range map[string]string{"replication user": p.ReplicationUser, "clone user": p.CloneUser} {
			if !dnsName.MatchString(user) {
				return values{}, fmt.Errorf("%s %q is not a plain name", what, user)
			}
		}
		v.Credentials, v.ReplicationUser, v.CloneUser = true, p.ReplicationUser, p.CloneUser
		v.ClientAuth = " --defaults-extra-file=" + profile.ClientOptionFile
	}
	if prof.Clone != profile.CloneBackupStream {
		return v, nil
	}
	backupArgs := "--backup --slave-info --stream=xbstream --host=127.0.0.1 --user=root"
	if p.Credentials {
		// --defaults-extra-file must come first; it also names the user.
		backupArgs = "--defaults-extra-file=" + profile.ClientOptionFile + " --backup --slave-info --stream=xbstream --host=127.0.0.1"
	}
	if prof.StreamHelper {
		v.ReceiveBackup = fmt.Sprintf(`%s receive-backup "$source_host:%d"`, profile.HelperPath, profile.BackupPort)
		v.ServeBackup = fmt.Sprintf(`exec %s serve-backup --port %d -- \
  %s %s`, profile.HelperPath, profile.BackupPort, prof.BackupTool, backupArgs)
	} else {
		v.ReceiveBackup = fmt.Sprintf(`ncat --recv-only "$source_host" %d`, profile.BackupPort)
		v.ServeBackup = fmt.Sprintf(`exec ncat --listen --keep-open --send-only --max-conns=1 %d -c \
  "%s %s"`, profile.BackupPort, prof.BackupTool, backupArgs)
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
