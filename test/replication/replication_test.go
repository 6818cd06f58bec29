// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package replication runs the injected scripts against real database
// servers, on this machine, for a cluster of "pods".
//
// What runs is exactly what `webhook inject` renders: the rig takes the
// command of every container from the completed StatefulSet and the .cnf
// files from the built ConfigMap, and resolves the containers' variables
// from a Secret as the kubelet would.
//
// What stands in for what, and why:
//   - A pod is a network namespace with its own address on a private bridge
//     and its own hosts file (/etc/netns/<ns>/hosts), so the rendered names
//     <name>-<n>.<serviceName> resolve to it and ports 3306 and 3307 are the
//     real ones. Its processes run in their own mount and UTS namespaces:
//     hostname <name>-<n> ($HOSTNAME too), and the pod's directories are
//     bind-mounted where the volumes are (data at /var/lib/mysql, conf at
//     /etc/mysql/conf.d and /mnt/conf.d, the ConfigMap at /mnt/config-map,
//     the helper emptyDir at /opt/mysql-replication/bin). The machine's own
//     files are never changed.
//   - The MySQL 8.0.23+ profile runs against a real MySQL 9.7: Debian's
//     mysql-server in a root filesystem of its own (hack/setup-db-root.sh),
//     in which every container of the pod runs with chroot, as every one of
//     them runs the database image. Nothing stands in for anything there but
//     the image's entrypoint and configuration.
//   - MariaDB 11.8, the current LTS, runs the same way from a root
//     filesystem of Debian's trixie.
//   - The other profiles run on the host's MariaDB 10.11: there is no MySQL
//     5.7 or Percona XtraBackup package here. For MySQL 5.7, `xtrabackup` and
//     `xbstream` are mariadb-backup and mbstream under those names (a bin
//     directory first on PATH), `mysql` is the MariaDB client, and the
//     replica .cnf says `read-only` where the rendered one says MySQL's
//     `super-read-only`, which MariaDB does not know.
//   - The image's entrypoint (initialise the data directory on first start,
//     set the root password from MYSQL_ROOT_PASSWORD / MARIADB_ROOT_PASSWORD
//     or allow an empty one, run the server as mysql) and its my.cnf, which
//     includes /etc/mysql/conf.d, are the stand-ins of test/rig/dbimage,
//     which the one-node cluster's images are built with too.
//   - The kubelet is stood in for by the test: init containers run to
//     completion in order, then mysqld and the sidecar run in the background;
//     a container restart is a kill and a new start; probes are run as exec
//     commands.
//
// It needs root, iproute2, ncat, MariaDB (server, client, backup) and the
// MySQL 9.7 root filesystem; `make test` installs them. Elsewhere it is SKIPPED; with CI=true a missing piece
// is a failure.
package replication

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/profile"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/dbimage"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/testcerts"
)

var requiredTools = []string{"ip", "unshare", "mariadbd", "mariadb-install-db", "mariadb-backup", "mbstream", "mariadb", "mariadb-admin", "mysql", "mysqladmin", "ncat"}

func preflight(t *testing.T) {
	t.Helper()
	skip := func(reason string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("replication tests cannot run: %s (make test installs what they need)", reason)
		}
		t.Skipf("SKIPPED: %s; run as root with `make test-replication`, which installs MariaDB, ncat and iproute2", reason)
	}
	if os.Geteuid() != 0 {
		skip("not root (network and mount namespaces need root)")
	}
	for _, tool := range requiredTools {
		if _, err := exec.LookPath(tool); err != nil {
			skip(tool + " is not installed")
		}
	}
}

// flavor is one way of running the scenario.
type flavor struct {
	name        string
	image       string
	annotations map[string]string
	secure      bool
	// root names the root filesystem (hack/setup-db-root.sh) whose server
	// runs the scenario; "" runs the host's MariaDB.
	root string
	// nonRoot runs the database container as the mysql user (uid 999).
	nonRoot bool
	// sqlMode, when set, is the servers' sql_mode (in their .cnf files),
	// and root's password is plain: the stand-in images' own first start
	// escapes it with backslashes, as the official ones do.
	sqlMode string
	// config is added to the servers' .cnf files.
	config string
	// memoryLimit, when set, is the database container's memory limit.
	memoryLimit string
}

var flavors = []flavor{
	// Its database container runs as the mysql user, so the injected
	// containers do too.
	{name: "mysql-9.7", image: "mysql:9.7", secure: true, root: "mysql-9", nonRoot: true},
	{name: "mysql-5.7", image: "mysql:5.7", secure: true},
	{name: "mariadb", image: "mariadb:10.11", secure: true},
	// MariaDB 11.8, the current LTS, from its own root filesystem.
	{name: "mariadb-11.8", image: "mariadb:11.8", secure: true, root: "mariadb-11"},
	{name: "mysql-5.7-tutorial", image: "mysql:5.7", annotations: map[string]string{contract.InsecureTutorialAnnotation: "true"}},
}

// mariaDBStandsIn tells whether the host's MariaDB stands in for the
// server of prof: a MySQL profile without a root filesystem of its own.
func (f flavor) mariaDBStandsIn(prof profile.Profile) bool {
	return f.root == "" && prof.Family == profile.MySQL
}

// dbRoot returns the directory of a database root filesystem, built and
// cached by hack/setup-db-root.sh.
func dbRoot(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("bash", "../../hack/setup-db-root.sh", name).Output()
	if err != nil {
		msg := fmt.Sprintf("the %s root filesystem is not available: %v", name, err)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (make test builds it)", msg)
		}
		t.Skipf("SKIPPED: %s; run `make replication-deps` as root", msg)
	}
	return strings.TrimSpace(string(out))
}

// buildHelper builds the pod helper, which install-helper copies into the
// MariaDB pods.
func buildHelper(t *testing.T) string {
	t.Helper()
	helper := filepath.Join(t.TempDir(), "helper")
	if out, err := exec.Command("go", "build", "-o", helper, "../../cmd/helper").CombinedOutput(); err != nil {
		t.Fatalf("building the helper: %v\n%s", err, out)
	}
	return helper
}

func TestReplication(t *testing.T) {
	preflight(t)
	helper := buildHelper(t)
	for _, f := range flavors {
		t.Run(f.name, func(t *testing.T) { newScenario(t, f, helper).run() })
	}
}

type scenario struct {
	t    *testing.T
	f    flavor
	prof profile.Profile
	// entrypoint runs the image's entrypoint.
	entrypoint []string
	r          *rig
	helper     string
	sts        *appsv1.StatefulSet
	pods       map[int]*pod
	secrets    []string
	ca         *testcerts.CA
}

// newAuthority is a StatefulSet's certificate authority.
func newAuthority(t *testing.T) *testcerts.CA {
	t.Helper()
	ca, err := testcerts.NewCA("statefulset")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// tlsFiles are the files of the pods' TLS Secret that ca issues, for the
// names the controller asks cert-manager for.
func (s *scenario) tlsFiles(ca *testcerts.CA) map[string][]byte {
	s.t.Helper()
	names := mutate.TLSNames(s.sts, s.r.namespace(), contract.DefaultClusterDomain, maxPods)
	cert, err := ca.IssueFor(testcerts.Spec{CommonName: s.sts.Name, DNSNames: names, Client: true})
	if err != nil {
		s.t.Fatal(err)
	}
	return map[string][]byte{"ca.crt": ca.CertPEM, "tls.crt": cert.CertPEM, "tls.key": cert.KeyPEM}
}

func container(cs []corev1.Container, name string) corev1.Container {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	panic("no container " + name)
}

func newScenario(t *testing.T, f flavor, helper string) *scenario {
	annotations := maps.Clone(f.annotations)
	if f.secure {
		// Every profile's exporter user, where there are credentials.
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[contract.MetricsAnnotation] = "true"
	}
	sts := plainStatefulSet(f.image, annotations)
	if f.nonRoot {
		user, yes := int64(999), true
		sts.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: &user, RunAsNonRoot: &yes}
	}
	if f.memoryLimit != "" {
		sts.Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(f.memoryLimit)}
	}
	res, err := mutate.Config{HelperImage: "mysql-replication-webhook:test"}.Inject(sts, nil)
	if err != nil {
		t.Fatal(err)
	}
	companions, err := mutate.BuildCompanions(res.StatefulSet)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := mutate.ProfileOf(res.StatefulSet, f.image)
	if err != nil {
		t.Fatal(err)
	}
	config := map[string]string{}
	for k, v := range companions.ConfigMap.Data {
		config[k] = v
	}
	stands := f.mariaDBStandsIn(prof)
	if stands {
		// MariaDB stands in for MySQL here and has no super-read-only.
		config[contract.ReplicaConfigKey] = strings.ReplaceAll(config[contract.ReplicaConfigKey], "super-read-only", "read-only")
	}
	// Passwords with what option files, SQL and shells treat specially, and
	// the trailing newline of a Secret made from a file.
	// MySQL takes replication passwords of at most 32 characters.
	awkward := ` q"'\ $x #;` + "\n"
	rootAwkward := awkward
	if f.sqlMode != "" {
		rootAwkward = ""
		for _, key := range []string{contract.PrimaryConfigKey, contract.ReplicaConfigKey} {
			config[key] += "sql_mode=" + f.sqlMode + "\n"
		}
	}
	for _, key := range []string{contract.PrimaryConfigKey, contract.ReplicaConfigKey} {
		config[key] += f.config
	}
	secret := map[string]string{
		contract.RootPasswordKey:        "R" + randomWord(t)[:8] + rootAwkward,
		contract.ReplicationPasswordKey: "P" + randomWord(t)[:8] + awkward,
		contract.ClonePasswordKey:       "C" + randomWord(t)[:8] + awkward,
	}

	binDir := t.TempDir()
	if stands {
		for alias, tool := range map[string]string{"xtrabackup": "mariadb-backup", "xbstream": "mbstream"} {
			path, err := exec.LookPath(tool)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(path, filepath.Join(binDir, alias)); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := &scenario{t: t, f: f, prof: prof, helper: helper, sts: res.StatefulSet, pods: map[int]*pod{}}
	if f.secure {
		s.secrets = []string{secret[contract.RootPasswordKey], secret[contract.ReplicationPasswordKey], secret[contract.ClonePasswordKey]}
	}
	// The images' own configuration and entrypoint; the server's log goes
	// to a file the scenario reads.
	root, myCnf, entry := "", dbimage.MariaDBConfig, []string{"bash", "-c", dbimage.MariaDBEntrypoint, "docker-entrypoint.sh", "mariadbd"}
	if f.root != "" {
		root = dbRoot(t, f.root)
		if prof.Family == profile.MySQL {
			myCnf, entry = dbimage.MySQLConfig, []string{"bash", "-c", dbimage.MySQLEntrypoint, "docker-entrypoint.sh", "mysqld"}
		}
	}
	myCnf += "\n[mysqld]\nlog-error=/run/mysqld/mysqld.err\n"
	s.entrypoint = entry
	s.r = newRig(t, res.StatefulSet, config, secret, binDir, root, myCnf)
	s.ca = newAuthority(t)
	s.r.tls = s.tlsFiles(s.ca)
	return s
}

// A password is the same string in SQL whatever the server's sql_mode: with
// NO_BACKSLASH_ESCAPES a backslash before a quote no longer escapes it, and
// a password quoted with backslashes ends its string early. The primary's
// sidecar creates the replication (and clone) user with the Secret's
// awkward passwords on servers in that mode, and each logs in with its
// password as the Secret holds it (but for its trailing newline, no part
// of a replication password).
func TestPasswordsInEveryServerMode(t *testing.T) {
	preflight(t)
	helper := buildHelper(t)
	for _, f := range []flavor{
		{name: "mysql-9.7", image: "mysql:9.7", secure: true, root: "mysql-9", sqlMode: "NO_BACKSLASH_ESCAPES"},
		{name: "mariadb", image: "mariadb:10.11", secure: true, sqlMode: "NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES"},
	} {
		t.Run(f.name, func(t *testing.T) {
			s := newScenario(t, f, helper)
			p0 := s.startPod(0)
			if mode := s.root(p0, "SELECT @@GLOBAL.sql_mode"); !strings.Contains(mode, "NO_BACKSLASH_ESCAPES") {
				t.Fatalf("the server runs with sql_mode %q", mode)
			}
			users := map[string]string{contract.ReplicationUser: contract.ReplicationPasswordKey}
			if s.prof.Clone == profile.ClonePlugin {
				users[contract.CloneUser] = contract.ClonePasswordKey
			}
			for user, key := range users {
				if out, err := s.sql(p0, user, strings.TrimRight(s.r.secret[key], "\n"), "SELECT CURRENT_USER()"); err != nil || !strings.Contains(out, user+"@") {
					t.Errorf("%s cannot log in with the Secret's %s: %v\n%s", user, key, err, out)
				}
			}
		})
	}
}

// CLONE requires its recipient to match the donor in what is fixed when a
// data directory is initialised (innodb_page_size) and in character set and
// collation: clone-mysql's temporary server reads the pod's option files,
// so a cluster whose .cnf sets them scales up.
func TestCloneKeepsTheServersSettings(t *testing.T) {
	preflight(t)
	s := newScenario(t, flavor{name: "mysql-9.7", image: "mysql:9.7", secure: true, root: "mysql-9", nonRoot: true,
		config: "innodb_page_size=8k\ncharacter_set_server=latin1\ncollation_server=latin1_bin\n"}, buildHelper(t))
	p0 := s.startPod(0)
	s.root(p0, "CREATE DATABASE test; CREATE TABLE test.messages (message VARCHAR(250)); INSERT INTO test.messages VALUES ('hello')")
	p1 := s.startPod(1)
	s.waitReplicating(p1)
	s.waitRows(p1, "hello")
	for _, p := range []*pod{p0, p1} {
		if got := s.root(p, "SELECT @@innodb_page_size, @@character_set_server, @@collation_server"); got != "8192\tlatin1\tlatin1_bin" {
			t.Errorf("%s: innodb_page_size, character_set_server, collation_server: %q", p.name, got)
		}
	}
}

// InnoDB's buffer pool follows the database container's memory limit, on
// both servers, for two sizes.
func TestBufferPoolFollowsTheMemoryLimit(t *testing.T) {
	preflight(t)
	helper := buildHelper(t)
	for _, f := range []flavor{
		{name: "mysql-9.7", image: "mysql:9.7", secure: true, root: "mysql-9", nonRoot: true},
		{name: "mariadb", image: "mariadb:10.11", secure: true},
	} {
		for limit, want := range map[string]string{"1Gi": "536870912", "2Gi": "1073741824"} {
			t.Run(f.name+" "+limit, func(t *testing.T) {
				f.memoryLimit = limit
				s := newScenario(t, f, helper)
				p0 := s.startPod(0)
				if got := s.root(p0, "SELECT @@innodb_buffer_pool_size"); got != want {
					t.Errorf("innodb_buffer_pool_size %s with a memory limit of %s, want %s", got, limit, want)
				}
			})
		}
	}
}

// plainStatefulSet is what a user writes: a StatefulSet named mysql with one
// database container.
func plainStatefulSet(image string, annotations map[string]string) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "mysql", Annotations: annotations,
			Labels: map[string]string{contract.EnabledLabel: contract.EnabledValue}},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: "mysql",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "mysql"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "mysql"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "mysql", Image: image}}},
			},
		},
	}
}

func randomWord(t *testing.T) string {
	b := make([]byte, 12)
	f, err := os.Open("/dev/urandom")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

func (s *scenario) spec() corev1.PodSpec { return s.sts.Spec.Template.Spec }

// startPod runs pod i's init containers, then mysqld and the sidecar.
func (s *scenario) startPod(i int) *pod {
	t := s.t
	t.Helper()
	p, ok := s.pods[i]
	if !ok {
		p = s.r.addPod(i)
		s.pods[i] = p
	}
	if out, err := s.runInitContainers(p); err != nil {
		t.Fatalf("%s %s: %v\n%s", p.name, contract.CloneMySQLContainer, err, out)
	}
	s.startMySQLD(p)
	s.startSidecar(p)
	return p
}

// runInitContainers runs pod p's init containers in order (install-helper
// copies the built helper) and returns what clone-mysql wrote and
// how it ended; any other init container that fails fails the test.
func (s *scenario) runInitContainers(p *pod) (cloneOut string, cloneErr error) {
	s.t.Helper()
	return s.runInitContainersFor(p, 3*time.Minute)
}

// runInitContainersFor is runInitContainers with clone-mysql ended after
// cloneTimeout.
func (s *scenario) runInitContainersFor(p *pod, cloneTimeout time.Duration) (cloneOut string, cloneErr error) {
	t := s.t
	t.Helper()
	for _, ic := range s.spec().InitContainers {
		if ic.Name == contract.HelperInitContainer {
			s.installHelper(p, ic)
			continue
		}
		timeout := 3 * time.Minute
		if ic.Name == contract.CloneMySQLContainer {
			timeout = cloneTimeout
		}
		out, err := p.runContainer(ic, timeout)
		if ic.Name == contract.CloneMySQLContainer {
			if err != nil {
				return out, err
			}
			cloneOut = out
			continue
		}
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", p.name, ic.Name, err, out)
		}
	}
	return cloneOut, nil
}

// installHelper runs install-helper in pod p with the built helper as the
// image's. In a root filesystem, which the built helper is outside of, it
// is put where install-helper puts it.
func (s *scenario) installHelper(p *pod, ic corev1.Container) {
	t := s.t
	t.Helper()
	if s.r.root != "" {
		b, err := os.ReadFile(s.helper)
		if err == nil {
			err = os.WriteFile(filepath.Join(p.dir, "helper", filepath.Base(contract.HelperPath)), b, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	argv := append([]string{s.helper}, ic.Command[1:]...)
	if out, err := p.runArgv(nil, argv, time.Minute); err != nil {
		t.Fatalf("%s %s: %v\n%s", p.name, ic.Name, err, out)
	}
}

// startMySQLD starts pod p's server. The waits of the scenario are long:
// they bound a hang, and a shared machine may be slow.
func (s *scenario) startMySQLD(p *pod) {
	db := container(s.spec().Containers, "mysql")
	p.mysqld, _ = p.start("mysqld", p.env(db), s.entrypoint)
	if err := p.waitPort(3306, 5*time.Minute); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "run", "mysqld.err"))
		s.t.Fatalf("%v\n%s", err, log)
	}
}

func (s *scenario) startSidecar(p *pod) string {
	side := container(s.spec().Containers, contract.SidecarContainer)
	var logPath string
	p.sidecar, logPath = p.start("sidecar", p.env(side), side.Command)
	if s.prof.Clone == profile.ClonePlugin {
		// Nothing listens on a backup port: the sidecar says when it is done.
		s.eventually(p.name+" sidecar is done", 5*time.Minute, func() (bool, string) {
			log, _ := os.ReadFile(logPath)
			return strings.Contains(string(log), "nothing to serve"), string(log)
		})
		return logPath
	}
	if err := p.waitPort(3307, 5*time.Minute); err != nil {
		log, _ := os.ReadFile(logPath)
		s.t.Fatalf("%v\n%s", err, log)
	}
	return logPath
}

// sql runs statements as root in pod p (the password reaches the client
// through its environment, never its arguments).
func (s *scenario) sql(p *pod, user, password, statements string) (string, error) {
	env := []string{}
	if password != "" {
		env = append(env, "MYSQL_PWD="+password)
	}
	return p.runArgv(env, []string{s.prof.Client, "-h", "127.0.0.1", "-u", user, "-N", "-B", "-e", statements}, time.Minute)
}

// rootPassword is the password root logs in with.
func (s *scenario) rootPassword() string {
	if !s.f.secure {
		return ""
	}
	return s.r.secret[contract.RootPasswordKey]
}

func (s *scenario) root(p *pod, statements string) string {
	s.t.Helper()
	out, err := s.sql(p, "root", s.rootPassword(), statements)
	if err != nil {
		s.t.Fatalf("%s: %s: %v\n%s", p.name, statements, err, out)
	}
	return strings.TrimSpace(out)
}

func (s *scenario) eventually(what string, timeout time.Duration, cond func() (bool, string)) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	s.t.Fatalf("%s: not within %v; last: %s", what, timeout, last)
}

func (s *scenario) threadsRunning(status string) bool {
	rep := s.prof.Replication
	return regexp.MustCompile(`(?s)` + rep.IORunning + `: Yes.*` + rep.SQLRunning + `: Yes`).MatchString(status)
}

func (s *scenario) slaveStatus(p *pod) string {
	s.t.Helper()
	password := s.rootPassword()
	env := []string{}
	if password != "" {
		env = append(env, "MYSQL_PWD="+password)
	}
	out, err := p.runArgv(env, []string{s.prof.Client, "-h", "127.0.0.1", "-u", "root", "--vertical", "-e", s.prof.Replication.Status}, time.Minute)
	if err != nil {
		s.t.Fatalf("%s: %s: %v\n%s", p.name, s.prof.Replication.Status, err, out)
	}
	return out
}

func (s *scenario) waitReplicating(p *pod) {
	s.eventually(p.name+" replicates", 5*time.Minute, func() (bool, string) {
		st := s.slaveStatus(p)
		return s.threadsRunning(st), st
	})
}

func (s *scenario) waitRows(p *pod, want string) {
	s.eventually(p.name+" has rows "+want, time.Minute, func() (bool, string) {
		got := strings.Join(strings.Fields(s.root(p, "SELECT message FROM test.messages ORDER BY message")), ",")
		return got == want, got
	})
}

// ready runs the rendered readiness probe in pod p.
func (s *scenario) ready(p *pod) bool {
	db := container(s.spec().Containers, "mysql")
	_, err := p.runArgv(p.env(db), db.ReadinessProbe.Exec.Command, 30*time.Second)
	return err == nil
}

// readDir lists rel in pod p's directory.
func (s *scenario) readDir(p *pod, rel string) []string {
	entries, err := os.ReadDir(filepath.Join(p.dir, rel))
	if err != nil {
		s.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func (s *scenario) readFile(p *pod, rel string) string {
	b, _ := os.ReadFile(filepath.Join(p.dir, rel))
	return string(b)
}

// step runs one step of the scenario as a subtest; the scenario stops at
// the first step that fails, as the next ones build on it.
func (s *scenario) step(name string, f func(t *testing.T)) bool {
	parent := s.t
	defer func() { s.t, s.r.t = parent, parent }()
	return parent.Run(name, func(t *testing.T) {
		s.t, s.r.t = t, t
		defer func() {
			if t.Failed() {
				s.logServerErrors(t)
			}
		}()
		f(t)
	})
}

// logServerErrors prints the end of every pod's server error log.
func (s *scenario) logServerErrors(t *testing.T) {
	for i := 0; i < maxPods; i++ {
		p, ok := s.pods[i]
		if !ok {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(p.dir, "run", "mysqld.err"))
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		t.Logf("%s mysqld.err:\n%s", p.name, strings.Join(lines, "\n"))
	}
}

func (s *scenario) run() {
	var p0, p1, p2 *pod
	leaks := s.watchCommandLines()

	if !s.step("1 primary starts", func(t *testing.T) {
		p0 = s.startPod(0)
		if got := s.readFile(p0, "conf/server-id.cnf"); !strings.Contains(got, "server-id=100") {
			t.Errorf("server-id.cnf: %q", got)
		}
		// Durable whatever the image's configuration says (the stand-ins'
		// own say sync_binlog=0 and innodb_flush_log_at_trx_commit=2), and
		// binary logs kept 30 days.
		if got := s.root(p0, "SELECT @@sync_binlog, @@innodb_flush_log_at_trx_commit, @@binlog_expire_logs_seconds"); got != "1\t1\t2592000" {
			t.Errorf("sync_binlog, innodb_flush_log_at_trx_commit, binlog_expire_logs_seconds: %q, want 1, 1, 2592000", got)
		}
		if _, err := os.Stat(filepath.Join(p0.dir, "conf", "master.cnf")); err != nil {
			t.Errorf("primary .cnf not copied: %v", err)
		}
		if _, err := os.Stat(filepath.Join(p0.dir, "conf", "slave.cnf")); err == nil {
			t.Error("replica .cnf copied on the primary")
		}
		if info, err := os.Stat(filepath.Join(p0.dir, "conf", "server-id.cnf")); s.f.nonRoot && (err != nil || info.Sys().(*syscall.Stat_t).Uid != 999) {
			t.Errorf("init-mysql did not run as the mysql user (%v)", err)
		}
		if _, err := os.Stat(p0.data("xtrabackup_checkpoints")); err == nil {
			t.Error("the primary cloned")
		}
	}) {
		return
	}

	if !s.step("2 write on the primary", func(t *testing.T) {
		s.root(p0, "CREATE DATABASE test; CREATE TABLE test.messages (message VARCHAR(250)); INSERT INTO test.messages VALUES ('hello');")
		s.root(p0, "CREATE USER 'app'@'%' IDENTIFIED BY 'app-password'; GRANT SELECT, INSERT ON test.* TO 'app'@'%';")
	}) {
		return
	}

	if !s.step("3 replicas clone in order and replicate", func(t *testing.T) {
		p1 = s.startPod(1)
		s.waitReplicating(p1)
		s.waitRows(p1, "hello")
		// The primary knows its replica by its pod's name.
		hosts := "SHOW SLAVE HOSTS"
		if s.prof.Replication.GTID {
			hosts = "SHOW REPLICAS"
		}
		if got := s.root(p0, hosts); !strings.Contains(got, "mysql-1.mysql.default.svc.cluster.local") {
			t.Errorf("%s on the primary: %q", hosts, got)
		}

		// Pod 2 clones from pod 1, a replica: the backup carries the
		// primary's position in xtrabackup_slave_info.
		p2 = s.r.addPod(2)
		s.pods[2] = p2
		cloneLog, err := s.runInitContainers(p2)
		if err != nil {
			t.Fatalf("%s: %v\n%s", contract.CloneMySQLContainer, err, cloneLog)
		}
		switch s.prof.Clone {
		case profile.CloneBackupStream:
			// The backup tool's position files (MariaDB 11 names them
			// mariadb_backup_*); MariaDB replicas start from the GTID of
			// the binlog info.
			info := s.readFile(p2, "volume/mysql/xtrabackup_slave_info") + s.readFile(p2, "volume/mysql/mariadb_backup_slave_info")
			if s.prof.Replication.SlavePos {
				info = s.readFile(p2, "volume/mysql/xtrabackup_binlog_info") + s.readFile(p2, "volume/mysql/mariadb_backup_binlog_info")
				if !regexp.MustCompile(`\t0-100-[0-9]+`).MatchString(info) {
					t.Errorf("pod 2's clone has no GTID position: %q", info)
				}
			} else if !strings.Contains(strings.ToUpper(info), "CHANGE MASTER TO") {
				t.Errorf("pod 2's clone has no slave info: %q", info)
			}
		case profile.ClonePlugin:
			if !strings.Contains(cloneLog, "cloning from mysql-1.mysql.default.svc.cluster.local.:3306") || !strings.Contains(cloneLog, "is in place") {
				t.Errorf("pod 2 did not clone pod 1:\n%s", cloneLog)
			}
		}
		s.startMySQLD(p2)
		s.startSidecar(p2)
		s.waitReplicating(p2)
		s.waitRows(p2, "hello")

		for _, p := range []*pod{p1, p2} {
			if got := s.readFile(p, "conf/server-id.cnf"); !strings.Contains(got, fmt.Sprintf("server-id=%d", 100+p.ordinal)) {
				t.Errorf("%s server-id.cnf: %q", p.name, got)
			}
			out, err := s.sql(p, "app", "app-password", "INSERT INTO test.messages VALUES ('must fail')")
			if err == nil || !strings.Contains(strings.ToLower(out), "read-only") {
				t.Errorf("%s accepted a user's write (%v): %s", p.name, err, out)
			}
			if s.prof.Family == profile.MySQL && s.f.root != "" && s.f.secure {
				// super_read_only refuses root too (MariaDB's read-only
				// does not; the README says so).
				out, err := s.sql(p, "root", s.r.secret[contract.RootPasswordKey], "INSERT INTO test.messages VALUES ('must fail')")
				if err == nil || !strings.Contains(strings.ToLower(out), "read-only") {
					t.Errorf("%s accepted root's write (%v): %s", p.name, err, out)
				}
			}
			if !s.ready(p) {
				t.Errorf("%s is not ready while it replicates", p.name)
			}
		}
		if !s.ready(p0) {
			t.Error("the primary is not ready")
		}
	}) {
		return
	}

	if s.f.secure && !s.step("the exporter reads a replica's status as the metrics user, and nothing else", func(t *testing.T) {
		s.scrapeExporter(t, p0, p1)
	}) {
		return
	}

	if !s.step("4 a new row reaches every replica", func(t *testing.T) {
		s.root(p0, "INSERT INTO test.messages VALUES ('world')")
		s.waitRows(p1, "hello,world")
		s.waitRows(p2, "hello,world")
	}) {
		return
	}

	if !s.step("a replica's node crashes amid updates and the replica ends equal to the primary", func(t *testing.T) {
		s.crashReplicaAmidUpdates(t, p0, p2)
	}) {
		return
	}

	if !s.step("5 scale to 5", func(t *testing.T) {
		for i := 3; i < 5; i++ {
			p := s.startPod(i)
			s.waitReplicating(p)
			s.waitRows(p, "hello,world")
		}
		s.root(p0, "INSERT INTO test.messages VALUES ('zz-after-scale')")
		for i := 1; i < 5; i++ {
			s.waitRows(s.pods[i], "hello,world,zz-after-scale")
		}
	}) {
		return
	}

	if !s.step("a new replica clones the primary while the previous pod is down", func(t *testing.T) {
		if !s.prof.Replication.ChecksDivergence() {
			t.Skip("MySQL 5.7 replicas clone the previous pod, as the tutorial's do")
		}
		p3 := s.pods[3]
		stop(p3.sidecar)
		stop(p3.mysqld)
		s.recloneExpecting(t, s.pods[4], "the donor is pod 0 (pod 3: it does not answer")
		s.waitRows(s.pods[4], "hello,world,zz-after-scale")
		s.startMySQLD(p3)
		s.startSidecar(p3)
		s.waitReplicating(p3)
	}) {
		return
	}

	if !s.step("6 restarts configure nothing twice", func(t *testing.T) {
		stop(p1.sidecar)
		stop(p1.mysqld)
		// A pod restart runs the init containers again: no second clone.
		clone := container(s.spec().InitContainers, contract.CloneMySQLContainer)
		out, err := p1.runContainer(clone, time.Minute)
		if err != nil || !strings.Contains(out, "skipping the clone") {
			t.Fatalf("clone-mysql on restart (%v): %s", err, out)
		}
		s.startMySQLD(p1)
		logPath := s.startSidecar(p1)
		s.waitReplicating(p1)
		time.Sleep(2 * time.Second)
		log, _ := os.ReadFile(logPath)
		if strings.Contains(string(log), "starting replication") {
			t.Errorf("the sidecar configured replication again:\n%s", log)
		}
		if s.prof.Clone == profile.CloneBackupStream {
			if _, err := os.Stat(p1.data("change_master_to.sql.orig")); err != nil {
				t.Errorf("no change_master_to.sql.orig: %v", err)
			}
			if _, err := os.Stat(p1.data("change_master_to.sql.in")); err == nil {
				t.Error("change_master_to.sql.in is still there")
			}
		}
		s.root(p0, "INSERT INTO test.messages VALUES ('zzz-after-restart')")
		s.waitRows(p1, "hello,world,zz-after-scale,zzz-after-restart")
	}) {
		return
	}

	if !s.step("7 a cut clone fails loudly and the next start recovers", func(t *testing.T) {
		if s.prof.Clone == profile.ClonePlugin {
			s.cutClonePlugin(t)
			return
		}
		p4 := s.pods[4]
		p5 := s.r.addPod(5)
		s.pods[5] = p5
		for _, ic := range s.spec().InitContainers {
			if ic.Name == contract.CloneMySQLContainer {
				break
			}
			if ic.Name == contract.HelperInitContainer {
				s.installHelper(p5, ic)
				continue
			}
			if out, err := p5.runArgv(p5.env(ic), ic.Command, time.Minute); err != nil {
				t.Fatalf("%s: %v\n%s", ic.Name, err, out)
			}
		}
		clone := container(s.spec().InitContainers, contract.CloneMySQLContainer)

		// Pod 4 serves half a backup, then closes the connection.
		stop(p4.sidecar)
		full := filepath.Join(p4.dir, "run", "full.xb")
		backup := []string{"bash", "-c", "mariadb-backup --backup --slave-info --stream=xbstream --host=127.0.0.1 --user=root >/run/mysqld/full.xb 2>/run/mysqld/backup.log"}
		env := []string{"MYSQL_PWD=" + s.r.secret[contract.RootPasswordKey]}
		if !s.f.secure {
			env = nil
		}
		if out, err := p4.runArgv(env, backup, 2*time.Minute); err != nil {
			log, _ := os.ReadFile(filepath.Join(p4.dir, "run", "backup.log"))
			t.Fatalf("backup for the cut stream: %v %s\n%s", err, out, log)
		}
		info, err := os.Stat(full)
		if err != nil || info.Size() < 1000 {
			t.Fatalf("backup stream: %v", err)
		}
		// The cut stream is served the way the profile serves backups: with
		// ncat, or with the helper, which sends what the command wrote and a
		// clean end (the worst case: nothing tells the receiver it is short).
		cutServer := func(cut int64) *exec.Cmd {
			head := fmt.Sprintf("head -c %d /run/mysqld/full.xb", cut)
			if s.prof.StreamHelper {
				server, _ := p4.start("cut-server", []string{"REPLICATION_PASSWORD=" + s.r.secret[contract.ReplicationPasswordKey]},
					[]string{contract.HelperPath, "serve-backup", "--port", "3307", "--", "bash", "-c", head})
				return server
			}
			server, _ := p4.start("cut-server", nil, []string{"bash", "-c", head + " | ncat --listen --send-only 3307"})
			return server
		}
		for _, cut := range []int64{0, info.Size() / 2} {
			server := cutServer(cut)
			if err := p4.waitPort(3307, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			// waitPort's probe used ncat's one connection; serve again.
			stop(server)
			server = cutServer(cut)
			time.Sleep(time.Second)
			out, err := p5.runContainer(clone, 2*time.Minute)
			stop(server)
			if err == nil {
				t.Fatalf("a clone cut at %d bytes succeeded:\n%s", cut, out)
			}
			if !strings.Contains(out, "clone-mysql:") {
				t.Errorf("the failure says nothing clear:\n%s", out)
			}
			if entries, _ := os.ReadDir(p5.data("")); len(entries) != 0 {
				t.Errorf("a clone cut at %d bytes left %d entries in the data directory", cut, len(entries))
			}
			if _, err := os.Stat(filepath.Join(p5.dir, "volume", ".clone")); err != nil {
				t.Errorf("no staging directory after a clone cut at %d bytes: %v", cut, err)
			}
		}

		s.startSidecar(p4)
		out, err := p5.runContainer(clone, 3*time.Minute)
		if err != nil {
			t.Fatalf("the next clone did not recover: %v\n%s", err, out)
		}
		if !strings.Contains(out, "did not finish; removing its staging directory") {
			t.Errorf("the retry did not clear the partial clone:\n%s", out)
		}
		s.startMySQLD(p5)
		s.startSidecar(p5)
		s.waitReplicating(p5)
		s.waitRows(p5, "hello,world,zz-after-scale,zzz-after-restart")
	}) {
		return
	}

	if s.f.secure {
		if !s.step("credentials", func(t *testing.T) {
			st := s.slaveStatus(p2)
			userField := "Master_User"
			if s.prof.Replication.GTID {
				userField = "Source_User"
			}
			if !strings.Contains(st, userField+": "+contract.ReplicationUser) {
				t.Errorf("replicas do not replicate as %s:\n%s", contract.ReplicationUser, st)
			}
			grants := s.root(p0, fmt.Sprintf("SHOW GRANTS FOR '%s'@'%%'", contract.ReplicationUser))
			if !strings.Contains(grants, "REPLICATION SLAVE") || strings.Contains(grants, "ALL PRIVILEGES") {
				t.Errorf("grants of the replication user: %s", grants)
			}
			if out, err := s.sql(p0, "root", "", "SELECT 1"); err == nil {
				t.Errorf("root with an empty password was let in: %s", out)
			}
			for _, leak := range leaks() {
				t.Errorf("a password was on a command line during the scenario: %s", leak)
			}
			s.assertNoSecretsInLogs(t)
		}) {
			return
		}
	}

	if !s.step("a replica that stops replicating turns unready", func(t *testing.T) {
		s.root(p2, s.prof.Replication.Stop)
		if s.ready(p2) {
			t.Error("a stopped replica is ready")
		}
		s.root(p2, s.prof.Replication.Start)
		s.waitReplicating(p2)
		if !s.ready(p2) {
			t.Error("the replica is not ready again")
		}
	}) {
		return
	}

	if !s.step("a replica is ready while it can serve a read", func(t *testing.T) {
		s.readinessFollowsReplication(t, p0, p1, p2)
	}) {
		return
	}

	if s.f.secure {
		if !s.step("a changed replication password reaches each replica at its next start", func(t *testing.T) {
			changed := "N" + randomWord(t)[:8] + ` q"'\ $x #;` + "\n"
			s.r.secret[contract.ReplicationPasswordKey] = changed
			// The primary takes it when its sidecar starts again...
			stop(p0.sidecar)
			s.startSidecar(p0)
			// ...and a replica when its pod starts again: a new connection
			// to the primary authenticates with the new password.
			stop(p1.sidecar)
			stop(p1.mysqld)
			s.startMySQLD(p1)
			s.startSidecar(p1)
			s.waitReplicating(p1)
			s.root(p0, "INSERT INTO test.messages VALUES ('zzzz-new-password')")
			s.waitRows(p1, "hello,world,zz-after-scale,zzz-after-restart,zzzz-new-password")
		}) {
			return
		}
	}

	if !s.step("a replica that needs transactions the primary purged is refused, and clones again when told", func(t *testing.T) {
		s.purgedReplica(t, p0, p1)
	}) {
		return
	}

	if !s.step("a replica with a transaction the primary lacks is refused, and clones again when told", func(t *testing.T) {
		s.errantReplica(t, p0, p2)
	}) {
		return
	}

	var beforeLoss string
	if !s.step("an emptied primary of an initialised cluster refuses to start", func(t *testing.T) {
		// The StatefulSet has been initialised: the reconciler made the
		// ConfigMap <name>-initialized, which pod 0 mounts.
		writeFile(t, filepath.Join(p0.dir, "initialized", contract.InitializedKey), "2026-11-25T00:00:00Z")
		clone := container(s.spec().InitContainers, contract.CloneMySQLContainer)
		if out, err := p0.runContainer(clone, time.Minute); err != nil || !strings.Contains(out, "ordinal 0 is the primary") {
			t.Fatalf("pod 0 with its data did not start (%v):\n%s", err, out)
		}
		// Pod 1 falls behind: the last row before the loss reaches the
		// other replicas only.
		s.root(p1, s.prof.Replication.Stop)
		s.root(p0, "INSERT INTO test.messages VALUES ('zzzzzz-before-loss')")
		beforeLoss = s.root(p0, "SELECT GROUP_CONCAT(message ORDER BY message) FROM test.messages")
		for i := 2; s.pods[i] != nil; i++ {
			s.waitRows(s.pods[i], beforeLoss)
		}
		stop(p0.sidecar)
		stop(p0.mysqld)
		entries, _ := os.ReadDir(p0.data(""))
		for _, e := range entries {
			if err := os.RemoveAll(p0.data(e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		out, err := p0.runContainer(clone, time.Minute)
		if err == nil || !strings.Contains(out, "refusing to start an empty primary") || !strings.Contains(out, `"An empty primary" in the README`) {
			t.Fatalf("an empty pod 0 was let start as the primary (%v):\n%s", err, out)
		}
		if entries, _ := os.ReadDir(p0.data("")); len(entries) != 0 {
			t.Errorf("the refused start left %d entries in the data directory", len(entries))
		}
	}) {
		return
	}

	s.step("the emptied primary is recovered from the replica that holds the most transactions", func(t *testing.T) {
		if !s.prof.Replication.ChecksDivergence() {
			t.Skip("MySQL 5.7 replicas have no GTIDs to tell which holds the most; the README's recovery restores a backup")
		}
		s.recoverPrimary(t, beforeLoss)
	})
}

// readinessWith runs in pod p the readiness probe of the scenario's
// StatefulSet with annotations added, and returns what it said and
// whether the pod is ready.
func (s *scenario) readinessWith(p *pod, annotations map[string]string) (string, bool) {
	s.t.Helper()
	all := maps.Clone(s.f.annotations)
	if all == nil {
		all = map[string]string{}
	}
	maps.Copy(all, annotations)
	res, err := mutate.Config{HelperImage: "mysql-replication-webhook:test"}.Inject(plainStatefulSet(s.f.image, all), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	db := res.StatefulSet.Spec.Template.Spec.Containers[0]
	out, err := p.runArgv(p.env(db), db.ReadinessProbe.Exec.Command, 30*time.Second)
	return strings.TrimSpace(out), err == nil
}

// readinessFollowsReplication: a replica whose SQL thread stopped is not
// ready; one held back past the lag limit leaves and returns once it
// caught up; one whose primary stopped answering stays ready for the
// reconnect grace, then leaves, and returns when the primary is back.
func (s *scenario) readinessFollowsReplication(t *testing.T, primary, lagging, cut *pod) {
	rep := s.prof.Replication
	expect := func(p *pod, annotations map[string]string, ready bool, says string) {
		t.Helper()
		s.eventually(fmt.Sprintf("%s ready=%v saying %q", p.name, ready, says), 2*time.Minute, func() (bool, string) {
			out, ok := s.readinessWith(p, annotations)
			return ok == ready && strings.Contains(out, says), out
		})
	}
	s.root(lagging, rep.Stop+" SQL_THREAD")
	expect(lagging, nil, false, "the SQL thread does not run")
	s.root(lagging, rep.Start+" SQL_THREAD")
	expect(lagging, nil, true, "")

	lag := map[string]string{contract.MaxLagAnnotation: "3"}
	delay := func(seconds int) {
		s.root(lagging, fmt.Sprintf("%s; %s %s=%d; %s", rep.Stop, rep.ChangeSource,
			strings.Replace(rep.Host, "_HOST", "_DELAY", 1), seconds, rep.Start))
	}
	delay(600)
	s.root(primary, "INSERT INTO test.messages VALUES ('zzzz-delayed')")
	expect(lagging, lag, false, "behind the primary, more than 3 s ("+contract.MaxLagAnnotation+")")
	delay(0)
	expect(lagging, lag, true, "")
	want := s.root(primary, "SELECT GROUP_CONCAT(message ORDER BY message) FROM test.messages")
	s.waitRows(lagging, want)

	grace := map[string]string{contract.ReconnectGraceAnnotation: "8"}
	stop(primary.mysqld)
	expect(cut, grace, true, "reconnecting to the primary for")
	expect(cut, grace, false, "more than 8 s ("+contract.ReconnectGraceAnnotation+")")
	s.startMySQLD(primary)
	expect(cut, grace, true, "")
	s.waitReplicating(cut)
	s.root(primary, "DELETE FROM test.messages WHERE message = 'zzzz-delayed'")
	want = s.root(primary, "SELECT GROUP_CONCAT(message ORDER BY message) FROM test.messages")
	for _, p := range []*pod{lagging, cut} {
		s.waitRows(p, want)
	}
}

// recoverPrimary recovers the emptied pod 0 as webhook recover-primary
// does (every replica a candidate, in ConfigMap <name>-initialized): it
// clones a replica that holds every row written before the loss (pod 1
// lags), becomes a primary of its own, and the replicas that hold what it
// holds replicate from it; pod 1, behind it, is refused and clones again.
func (s *scenario) recoverPrimary(t *testing.T, beforeLoss string) {
	p0, p1 := s.pods[0], s.pods[1]
	var candidates []string
	for i := 1; s.pods[i] != nil; i++ {
		candidates = append(candidates, strconv.Itoa(i))
	}
	writeFile(t, filepath.Join(p0.dir, "initialized", contract.RecoverFromKey), strings.Join(candidates, " ")+"\n")
	clone := container(s.spec().InitContainers, contract.CloneMySQLContainer)
	out, err := p0.runContainer(clone, 3*time.Minute)
	if err != nil || !strings.Contains(out, "the donor is pod 2, which holds every transaction of pods "+strings.Join(candidates, " ")) ||
		!strings.Contains(out, "the clone of pod 2 is the primary's") {
		t.Fatalf("pod 0 was not recovered from pod 2 (%v):\n%s", err, out)
	}
	t.Logf("clone-mysql of pod 0:\n%s", out)
	// The reconciler removes the key once pod 0 is ready.
	if err := os.Remove(filepath.Join(p0.dir, "initialized", contract.RecoverFromKey)); err != nil {
		t.Fatal(err)
	}
	s.startMySQLD(p0)
	s.startSidecar(p0)
	s.waitRows(p0, beforeLoss)
	if st := strings.TrimSpace(s.slaveStatus(p0)); st != "" {
		t.Errorf("the recovered primary replicates:\n%s", st)
	}
	if s.prof.Family == profile.MySQL {
		if s.root(p0, "SELECT @@server_uuid") == s.root(s.pods[2], "SELECT @@server_uuid") {
			t.Error("the recovered primary has its donor's server UUID")
		}
	}
	s.root(p0, "INSERT INTO test.messages VALUES ('zzzzzzz-after-recovery')")
	after := s.root(p0, "SELECT GROUP_CONCAT(message ORDER BY message) FROM test.messages")
	for i := 2; s.pods[i] != nil; i++ {
		// Each sidecar started again checks its replica against the new
		// primary (and gives its channel the Secret's password, which an
		// earlier step changed).
		stop(s.pods[i].sidecar)
		s.startSidecar(s.pods[i])
		s.waitReplicating(s.pods[i])
		s.waitRows(s.pods[i], after)
	}
	// Pod 1 lacks a transaction that only the lost primary's binary logs
	// held: its sidecar refuses it at its next start.
	stop(p1.sidecar)
	s.root(p1, s.prof.Replication.Start)
	s.expectRefusal(t, p1, "the primary has purged from its binary logs transactions this replica lacks")
	s.reclone(t, p1)
	s.waitRows(p1, after)
}

// cutClonePlugin cuts a CLONE mid-way, as when a pod is deleted
// mid-clone, by killing clone-mysql and its temporary server once the clone
// writes; nothing of it may look like a database, and the next start clones
// afresh.
func (s *scenario) cutClonePlugin(t *testing.T) {
	filler := []string{"CREATE TABLE test.filler (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(1000))",
		"INSERT INTO test.filler (pad) VALUES (REPEAT('x', 1000))"}
	for i := 0; i < 15; i++ {
		filler = append(filler, "INSERT INTO test.filler (pad) SELECT pad FROM test.filler")
	}
	s.root(s.pods[0], strings.Join(filler, "; "))

	p5 := s.r.addPod(5)
	s.pods[5] = p5
	for _, ic := range s.spec().InitContainers {
		if ic.Name == contract.CloneMySQLContainer {
			break
		}
		if out, err := p5.runContainer(ic, time.Minute); err != nil {
			t.Fatalf("%s: %v\n%s", ic.Name, err, out)
		}
	}
	clone := container(s.spec().InitContainers, contract.CloneMySQLContainer)
	s.eventually("pod 4 has the filler rows", 2*time.Minute, func() (bool, string) {
		got := s.root(s.pods[4], "SELECT COUNT(*) FROM test.filler")
		return got == "32768", got
	})

	cmd, logPath := p5.start("clone-mysql", p5.env(clone), clone.Command)
	staged := filepath.Join(p5.dir, "volume", ".clone", "data")
	s.eventually("the clone writes its staging directory", 2*time.Minute, func() (bool, string) {
		_, err := os.Stat(filepath.Join(staged, "test"))
		log, _ := os.ReadFile(logPath)
		return err == nil, string(log)
	})
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	s.eventually("clone-mysql is gone", 30*time.Second, func() (bool, string) {
		return syscall.Kill(-cmd.Process.Pid, 0) != nil, ""
	})
	if entries, _ := os.ReadDir(p5.data("")); len(entries) != 0 {
		t.Fatalf("a cut clone left %d entries in the data directory", len(entries))
	}
	if _, err := os.Stat(staged); err != nil {
		t.Fatalf("the cut clone left no staging directory to clear: %v", err)
	}

	out, err := p5.runContainer(clone, 3*time.Minute)
	if err != nil {
		t.Fatalf("the next clone did not recover: %v\n%s", err, out)
	}
	if !strings.Contains(out, "did not finish; removing its staging directory") {
		t.Errorf("the retry did not clear the cut clone:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(p5.dir, "volume", ".clone")); err == nil {
		t.Error("the staging directory is still there after a clone")
	}
	s.startMySQLD(p5)
	s.startSidecar(p5)
	s.waitReplicating(p5)
	s.waitRows(p5, "hello,world,zz-after-scale,zzz-after-restart")
	if got := s.root(p5, "SELECT COUNT(*) FROM test.filler"); got != "32768" {
		t.Errorf("pod 5 has %s filler rows", got)
	}
}

// watchCommandLines scans every process's command line for the passwords
// until the scenario ends; the returned function reports what it found.
func (s *scenario) watchCommandLines() func() []string {
	var (
		mu    sync.Mutex
		found []string
	)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, path := range procs {
				b, err := os.ReadFile(path)
				if err != nil {
					continue
				}
				for _, secret := range s.secrets {
					if strings.Contains(string(b), secret) {
						mu.Lock()
						found = append(found, strings.ReplaceAll(string(b), "\x00", " "))
						mu.Unlock()
					}
				}
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	s.t.Cleanup(func() {
		close(done)
		<-stopped
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), found...)
	}
}

// assertNoSecretsInLogs looks for the passwords in every log the pods wrote.
func (s *scenario) assertNoSecretsInLogs(t *testing.T) {
	var logs []string
	for _, p := range s.pods {
		files, _ := filepath.Glob(filepath.Join(p.dir, "logs", "*"))
		files = append(files, filepath.Join(p.dir, "run", "mysqld.err"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			logs = append(logs, string(b))
		}
	}
	s.r.mu.Lock()
	logs = append(logs, s.r.logs...)
	s.r.mu.Unlock()
	for _, l := range logs {
		for _, secret := range s.secrets {
			if strings.Contains(l, secret) {
				t.Errorf("a password is in a log")
			}
		}
	}
}

// crashReplicaAmidUpdates crashes replica's node while the primary runs a
// stream of UPDATE ... SET n = n + 1 (a statement that applied twice
// raises no error): the replica's server is killed with SIGKILL, and the
// files its server does not sync with each transaction (MariaDB's
// relay-log.info and master.info, synced every 10,000 events) go back to an
// earlier state, as a power loss leaves them. Started again, the replica
// must apply every update exactly once.
func (s *scenario) crashReplicaAmidUpdates(t *testing.T, primary, replica *pod) {
	rep := s.prof.Replication
	if !rep.GTID && !rep.SlavePos {
		t.Skip("MySQL 5.7 replicas position themselves by binary log file and position, which the server keeps in files it does not sync with each transaction")
	}
	if rep.SlavePos {
		if st := s.slaveStatus(replica); !strings.Contains(st, "Using_Gtid: Slave_Pos") {
			t.Errorf("%s does not replicate by GTID:\n%s", replica.name, st)
		}
		// Strict, and able to become a primary: its binary log holds what
		// it applied.
		if got := s.root(replica, "SELECT @@gtid_strict_mode, @@log_slave_updates, @@log_bin"); got != "1\t1\t1" {
			t.Errorf("%s: gtid_strict_mode, log_slave_updates, log_bin: %q, want 1, 1, 1", replica.name, got)
		}
	} else if got := s.root(replica, "SELECT @@log_bin, @@log_replica_updates"); got != "1\t1" {
		t.Errorf("%s: log_bin, log_replica_updates: %q, want 1, 1", replica.name, got)
	}
	const updates = 4000
	s.root(primary, "CREATE TABLE test.counter (id INT PRIMARY KEY, n INT NOT NULL); INSERT INTO test.counter VALUES (1, 0)")
	counter := func(p *pod) int {
		out, err := s.sql(p, "root", s.rootPassword(), "SELECT n FROM test.counter WHERE id = 1")
		n, convErr := strconv.Atoi(strings.TrimSpace(out))
		if err != nil || convErr != nil {
			return -1
		}
		return n
	}
	s.eventually(replica.name+" has the counter", time.Minute, func() (bool, string) { return counter(replica) == 0, "" })

	streamed := make(chan error, 1)
	go func() {
		env := []string{}
		if pw := s.rootPassword(); pw != "" {
			env = append(env, "MYSQL_PWD="+pw)
		}
		stream := fmt.Sprintf(`for ((i = 0; i < %d; i++)); do echo 'UPDATE test.counter SET n = n + 1 WHERE id = 1;'; done | %s -h 127.0.0.1 -u root`, updates, s.prof.Client)
		out, err := primary.runArgv(env, []string{"bash", "-c", stream}, 5*time.Minute)
		if err != nil {
			err = fmt.Errorf("%w: %s", err, out)
		}
		streamed <- err
	}()

	var streamErr error
	streamDone := false
	streamEnded := func() bool {
		if !streamDone {
			select {
			case streamErr = <-streamed:
				streamDone = true
			default:
			}
		}
		if streamErr != nil {
			t.Fatalf("the stream of updates on the primary: %v", streamErr)
		}
		return streamDone
	}
	s.eventually(replica.name+" applies updates", time.Minute, func() (bool, string) {
		n := counter(replica)
		return n >= 200 || streamEnded(), fmt.Sprintf("n=%d, the primary's %d", n, counter(primary))
	})
	// What a power loss may leave of the files synced every 10,000 events.
	stale := map[string][]byte{}
	for _, name := range []string{"relay-log.info", "master.info"} {
		if b, err := os.ReadFile(replica.data(name)); err == nil {
			stale[name] = b
		}
	}
	staleAt := counter(replica)
	s.eventually(replica.name+" applies more updates", time.Minute, func() (bool, string) {
		n := counter(replica)
		return n >= staleAt+300 || n == updates, fmt.Sprint(n)
	})
	crashedAt := counter(replica)
	crash(replica.sidecar)
	crash(replica.mysqld)
	for name, b := range stale {
		if err := os.WriteFile(replica.data(name), b, 0o660); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s crashed at n=%d; %d files of its position not synced per transaction went back to n=%d", replica.name, crashedAt, len(stale), staleAt)

	s.startMySQLD(replica)
	s.startSidecar(replica)
	s.eventually("the stream of updates ends", 5*time.Minute, func() (bool, string) { return streamEnded(), "" })
	if got := counter(primary); got != updates {
		t.Fatalf("the primary's counter is %d after %d updates", got, updates)
	}
	s.waitReplicating(replica)
	s.eventually(replica.name+" applied every update once", 2*time.Minute, func() (bool, string) {
		n := counter(replica)
		if n > updates {
			t.Fatalf("%s applied updates twice: n=%d, the primary's %d", replica.name, n, updates)
		}
		return n == updates, fmt.Sprint(n)
	})
}

// purgedReplica stops replica (the StatefulSet scaled down), has the
// primary write and purge the binary logs that hold the write, and starts
// the replica again (scaled up): its sidecar refuses to replicate.
func (s *scenario) purgedReplica(t *testing.T, primary, replica *pod) {
	if !s.prof.Replication.ChecksDivergence() {
		t.Skip("MySQL 5.7 replicas position themselves by binary log file and position: the server stops replication with error 1236")
	}
	stop(replica.sidecar)
	stop(replica.mysqld)
	s.root(primary, "INSERT INTO test.messages VALUES ('zzzzz-purged')")
	s.root(primary, "FLUSH BINARY LOGS")
	time.Sleep(time.Second)
	s.root(primary, "PURGE BINARY LOGS BEFORE NOW() + INTERVAL 1 DAY")
	s.startMySQLD(replica)
	s.expectRefusal(t, replica, "the primary has purged from its binary logs transactions this replica lacks")
	s.reclone(t, replica)
	s.waitRows(replica, s.root(primary, "SELECT GROUP_CONCAT(message ORDER BY message) FROM test.messages"))
}

// errantReplica writes on a replica (as root, read-only switched off:
// what a DBA's mistake or a client that bypassed the replicas' Service
// does), then restarts its sidecar: it refuses to replicate.
func (s *scenario) errantReplica(t *testing.T, primary, replica *pod) {
	if !s.prof.Replication.ChecksDivergence() {
		t.Skip("MySQL 5.7 replicas position themselves by binary log file and position: nothing tells a transaction of their own")
	}
	if s.prof.Family == profile.MySQL {
		s.root(replica, "SET GLOBAL super_read_only = OFF; INSERT INTO test.messages VALUES ('errant'); SET GLOBAL super_read_only = ON")
	} else {
		// MariaDB's read_only lets root write.
		s.root(replica, "INSERT INTO test.messages VALUES ('errant')")
	}
	// Still replicating (its sidecar checks at its start), the replica
	// is passed over as the next pod's donor.
	if next, ok := s.pods[replica.ordinal+1]; ok {
		s.recloneExpecting(t, next, fmt.Sprintf("the donor is pod 0 (pod %d: it has transactions the primary lacks", replica.ordinal))
	}
	stop(replica.sidecar)
	s.expectRefusal(t, replica, "this replica has transactions the primary lacks")
	s.reclone(t, replica)
	want := s.root(primary, "SELECT GROUP_CONCAT(message ORDER BY message) FROM test.messages")
	s.waitRows(replica, want)
	if strings.Contains(want, "errant") {
		t.Errorf("the errant row reached the primary: %s", want)
	}
}

// recloneExpecting empties pod p's data directory and starts it again: it
// clones, saying want of its donor, and replicates.
func (s *scenario) recloneExpecting(t *testing.T, p *pod, want string) {
	t.Helper()
	stop(p.sidecar)
	stop(p.mysqld)
	entries, _ := os.ReadDir(p.data(""))
	for _, e := range entries {
		if err := os.RemoveAll(p.data(e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	out, err := s.runInitContainers(p)
	if err != nil || !strings.Contains(out, want) {
		t.Fatalf("%s clone-mysql (%v) does not say %q:\n%s", p.name, err, want, out)
	}
	t.Logf("%s: %s", p.name, want)
	s.startMySQLD(p)
	s.startSidecar(p)
	s.waitReplicating(p)
}

// expectRefusal starts replica's sidecar and waits until it refuses to
// replicate, saying why; the replica is then not replicating and not
// ready, and its readiness probe says why.
func (s *scenario) expectRefusal(t *testing.T, replica *pod, why string) {
	side := container(s.spec().Containers, contract.SidecarContainer)
	var logPath string
	replica.sidecar, logPath = replica.start("sidecar", replica.env(side), side.Command)
	s.eventually(replica.name+" sidecar refuses to replicate", 5*time.Minute, func() (bool, string) {
		log, _ := os.ReadFile(logPath)
		return strings.Contains(string(log), "refusing to replicate"), string(log)
	})
	log, _ := os.ReadFile(logPath)
	if !strings.Contains(string(log), why) || !strings.Contains(string(log), contract.RecloneAnnotation+"="+contract.RecloneOnDivergence) {
		t.Errorf("the sidecar's refusal does not say %q and how to clone again:\n%s", why, log)
	}
	s.eventually(replica.name+" stops replicating", time.Minute, func() (bool, string) {
		st := s.slaveStatus(replica)
		return !s.threadsRunning(st), st
	})
	db := container(s.spec().Containers, "mysql")
	out, err := replica.runArgv(replica.env(db), db.ReadinessProbe.Exec.Command, 30*time.Second)
	if err == nil || !strings.Contains(out, why) {
		t.Errorf("the readiness probe (%v) does not report the refusal:\n%s", err, out)
	}
}

// reclone restarts replica with the pod template's annotation that lets it
// clone again: its old data directory is moved aside, and it replicates.
func (s *scenario) reclone(t *testing.T, replica *pod) {
	stop(replica.sidecar)
	stop(replica.mysqld)
	s.r.annotations = map[string]string{contract.RecloneAnnotation: contract.RecloneOnDivergence}
	defer func() { s.r.annotations = nil }()
	out, err := s.runInitContainers(replica)
	if err != nil || !strings.Contains(out, "moved to") {
		t.Fatalf("clone-mysql with %s=%s (%v):\n%s", contract.RecloneAnnotation, contract.RecloneOnDivergence, err, out)
	}
	aside, _ := filepath.Glob(filepath.Join(replica.dir, "volume", contract.DivergedPrefix+"*"))
	if len(aside) == 0 {
		t.Errorf("the diverged data directory was not kept")
	}
	s.startMySQLD(replica)
	s.startSidecar(replica)
	s.waitReplicating(replica)
	if _, err := os.Stat(replica.data(contract.RefusedMarker)); err == nil {
		t.Error("the refusal is still recorded after the clone")
	}
	for _, d := range aside {
		_ = os.RemoveAll(d)
	}
}

// scrapeExporter runs Prometheus' mysqld_exporter (Debian's, from a root
// filesystem of its own: the official image's binary and version) in
// replica p's network namespace, with the injected container's arguments
// and the option file init-mysql wrote, and reads its /metrics: the server
// is up and the replica's lag is there. The metrics user it reads as reads
// status only, and only from 127.0.0.1.
func (s *scenario) scrapeExporter(t *testing.T, primary, p *pod) {
	exporter := container(s.spec().Containers, contract.MetricsContainer)
	root := dbRoot(t, "mysqld-exporter")
	env := []string{"ROOT=" + root, fmt.Sprintf("RUN_AS=%d:%d", *exporter.SecurityContext.RunAsUser, *exporter.SecurityContext.RunAsGroup),
		fmt.Sprintf("FS_GROUP=%d", s.r.fsGroup())}
	cmd, logPath := p.start("exporter", env, append([]string{"/usr/bin/prometheus-mysqld-exporter"}, exporter.Args...))
	defer stop(cmd)
	// SHOW REPLICA STATUS (MySQL 8.4, 9.x) names it after the source.
	lag := regexp.MustCompile(`(?m)^mysql_slave_status_seconds_behind_(master|source)\{.*$`)
	if s.f.mariaDBStandsIn(s.prof) {
		// MariaDB, standing in for MySQL 5.7 here, shows a replica's
		// status only with SLAVE MONITOR, which MySQL 5.7 does not know
		// (its REPLICATION CLIENT does it).
		s.root(primary, "GRANT SLAVE MONITOR ON *.* TO '"+contract.MetricsUser+"'@'127.0.0.1'")
	}
	up := regexp.MustCompile(`(?m)^mysql_up 1$`)
	var metrics string
	s.eventually(p.name+"'s exporter serves the replica's lag", time.Minute, func() (bool, string) {
		// The host's curl, in the pod's network namespace.
		out, err := p.runArgv([]string{"ROOT="}, []string{"curl", "-sS", "--max-time", "10", fmt.Sprintf("http://127.0.0.1:%d/metrics", contract.MetricsPort)}, 20*time.Second)
		metrics = out
		log, _ := os.ReadFile(logPath)
		return err == nil && up.MatchString(out) && lag.MatchString(out), fmt.Sprintf("%v\n%s\nexporter log:\n%s", err, tail(out, 30), log)
	})
	t.Logf("%s's exporter: %s", p.name, lag.FindString(metrics))

	// The option file holds the metrics user's password; it reads status,
	// no table, and logs in from 127.0.0.1 only.
	options := s.readFile(p, "metrics/"+contract.MetricsOptionName)
	m := regexp.MustCompile(`(?m)^password=([0-9a-f]{64})$`).FindStringSubmatch(options)
	if m == nil || !strings.Contains(options, "user="+contract.MetricsUser+"\n") {
		t.Fatalf("the exporter's option file: %q", options)
	}
	if out, err := s.sql(p, contract.MetricsUser, m[1], s.prof.Replication.Status); err != nil || !strings.Contains(out, "mysql-0") {
		t.Errorf("the metrics user cannot read the replication status (%v): %s", err, out)
	}
	if out, err := s.sql(p, contract.MetricsUser, m[1], "SELECT COUNT(*) FROM test.messages"); err == nil {
		t.Errorf("the metrics user reads a table: %s", out)
	}
	address := fmt.Sprintf("%s%d", subnet, firstHostIP+p.ordinal)
	if out, err := primary.runArgv([]string{"MYSQL_PWD=" + m[1]}, []string{s.prof.Client, "-h", address, "-u", contract.MetricsUser, "-N", "-e", "SELECT 1"}, time.Minute); err == nil {
		t.Errorf("the metrics user logged in to %s from another pod: %s", p.name, out)
	}
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
