// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package replication

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

const (
	nodeName    = "rig-node-3"
	subnet      = "10.213.0."
	firstHostIP = 10
	maxPods     = 6
)

// rig is a cluster of "pods" on this machine: each pod is a network
// namespace (its own address, its own hosts file resolving the pods' DNS
// names) in which processes run in their own mount and UTS namespaces, with
// the pod's directories bind-mounted where the containers' volumes are.
type rig struct {
	t      *testing.T
	id     string
	dir    string
	binDir string
	sts    *appsv1.StatefulSet
	root   string            // the database's root filesystem; "" for the host's
	myCnf  string            // the image's own configuration
	config map[string]string // ConfigMap data
	secret map[string]string // Secret data
	// annotations are the pod template's annotations, which the downward
	// API hands the containers.
	annotations map[string]string
	// tls is the files of the pods' TLS Secret (ca.crt, tls.crt,
	// tls.key), of the StatefulSet's authority: what cert-manager issues
	// from the controller's Certificate.
	tls      map[string][]byte
	switchNS string

	mu    sync.Mutex
	procs []*exec.Cmd
	logs  []string
}

// pod is one pod of the rig.
type pod struct {
	r       *rig
	ordinal int
	name    string
	ns      string
	dir     string
	mysqld  *exec.Cmd
	sidecar *exec.Cmd
	starts  int
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newRig(t *testing.T, sts *appsv1.StatefulSet, config, secret map[string]string, binDir, root, myCnf string) *rig {
	t.Helper()
	r := &rig{
		t: t, id: fmt.Sprintf("%d", os.Getpid()%100000), dir: t.TempDir(), binDir: binDir,
		sts: sts, root: root, myCnf: myCnf, config: config, secret: secret,
	}
	r.switchNS = "mrw" + r.id + "sw"
	run(t, "ip", "netns", "add", r.switchNS)
	t.Cleanup(r.cleanup)
	run(t, "ip", "netns", "exec", r.switchNS, "ip", "link", "add", "br0", "type", "bridge")
	run(t, "ip", "netns", "exec", r.switchNS, "ip", "link", "set", "br0", "up")
	return r
}

func (r *rig) podName(i int) string { return fmt.Sprintf("%s-%d", r.sts.Name, i) }

// namespace is the pods' namespace.
func (r *rig) namespace() string {
	if r.sts.Namespace != "" {
		return r.sts.Namespace
	}
	return "default"
}

// hostsFile resolves each pod's fully qualified name, as the cluster's DNS
// does: as the scripts write it, with its trailing dot (glibc's files
// backend compares names as written), and without.
func (r *rig) hostsFile() string {
	var b strings.Builder
	b.WriteString("127.0.0.1 localhost\n")
	for i := 0; i < maxPods; i++ {
		fqdn := fmt.Sprintf("%s.%s.%s.svc.%s", r.podName(i), r.sts.Spec.ServiceName, r.namespace(), contract.DefaultClusterDomain)
		fmt.Fprintf(&b, "%s%d %s. %s %s\n", subnet, firstHostIP+i, fqdn, fqdn, r.podName(i))
	}
	return b.String()
}

// addPod creates pod i's namespace, network and directories.
func (r *rig) addPod(i int) *pod {
	t := r.t
	t.Helper()
	p := &pod{r: r, ordinal: i, name: r.podName(i), ns: fmt.Sprintf("mrw%sp%d", r.id, i), dir: filepath.Join(r.dir, r.podName(i))}
	for _, d := range []string{"volume/mysql", "conf", "config-map", "initialized", "helper", "run", "logs", "tls", "metrics"} {
		if err := os.MkdirAll(filepath.Join(p.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range r.config {
		writeFile(t, filepath.Join(p.dir, "config-map", k), v)
	}
	if r.root != "" {
		// The kubelet gives the pod's volumes to its fsGroup.
		for _, d := range []string{"volume", "volume/mysql", "conf", "helper", "metrics"} {
			path := filepath.Join(p.dir, d)
			if err := os.Chown(path, 0, int(r.fsGroup())); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o775|os.ModeSetgid); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeFile(t, filepath.Join(p.dir, "my.cnf"), r.myCnf)
	p.setTLS(r.tls)
	if err := os.MkdirAll(filepath.Join("/etc/netns", p.ns), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join("/etc/netns", p.ns, "hosts"), r.hostsFile())
	writeFile(t, filepath.Join("/etc/netns", p.ns, "resolv.conf"), "")
	run(t, "ip", "netns", "add", p.ns)
	host, peer := fmt.Sprintf("m%sh%d", r.id, i), fmt.Sprintf("m%sp%d", r.id, i)
	run(t, "ip", "link", "add", host, "type", "veth", "peer", "name", peer)
	run(t, "ip", "link", "set", host, "netns", r.switchNS)
	run(t, "ip", "link", "set", peer, "netns", p.ns)
	run(t, "ip", "netns", "exec", r.switchNS, "ip", "link", "set", host, "master", "br0", "up")
	run(t, "ip", "netns", "exec", p.ns, "ip", "link", "set", "lo", "up")
	run(t, "ip", "netns", "exec", p.ns, "ip", "link", "set", peer, "name", "eth0")
	run(t, "ip", "netns", "exec", p.ns, "ip", "addr", "add", fmt.Sprintf("%s%d/24", subnet, firstHostIP+i), "dev", "eth0")
	run(t, "ip", "netns", "exec", p.ns, "ip", "link", "set", "eth0", "up")
	return p
}

// setTLS writes the files of pod p's TLS Secret. The kubelet gives them to
// the pod's fsGroup; here they are readable by all.
func (p *pod) setTLS(files map[string][]byte) {
	for name, content := range files {
		tmp := filepath.Join(p.dir, "tls", "."+name)
		if err := os.WriteFile(tmp, content, 0o644); err != nil {
			p.r.t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(p.dir, "tls", name)); err != nil {
			p.r.t.Fatal(err)
		}
	}
}

// data is the path of rel in pod p's data directory.
func (p *pod) data(rel string) string { return filepath.Join(p.dir, "volume", "mysql", rel) }

// podSetup runs inside the pod's namespaces before the command: the pod's
// directories are mounted where the containers' volumes are (the data
// volume's "mysql" directory at /var/lib/mysql, as its subPath, the whole
// volume at /mnt/data, the metrics emptyDir at /mnt/metrics and, where the
// root has the directory, /etc/mysqld-exporter), in the database's root
// filesystem when ROOT is set,
// which the command then runs in.
const podSetup = `set -e
R=${ROOT:-}
mkdir -p "$POD_DIR/volume/mysql"
mount -t tmpfs tmpfs "$R/mnt"
mkdir -p "$R/mnt/conf.d" "$R/mnt/config-map" "$R/mnt/data" "$R/mnt/initialized" "$R/mnt/metrics"
mount --bind "$POD_DIR/conf" "$R/mnt/conf.d"
mount --bind "$POD_DIR/metrics" "$R/mnt/metrics"
if [ -n "$R" ] && [ -d "$R/etc/mysqld-exporter" ]; then
  mount --bind "$POD_DIR/metrics" "$R/etc/mysqld-exporter"
fi
mount --bind "$POD_DIR/config-map" "$R/mnt/config-map"
mount --bind "$POD_DIR/initialized" "$R/mnt/initialized"
mount --bind "$POD_DIR/volume" "$R/mnt/data"
mount -t tmpfs tmpfs "$R/etc/mysql"
mkdir -p "$R/etc/mysql/conf.d" "$R/etc/mysql/tls"
touch "$R/etc/mysql/my.cnf"
mount --bind "$POD_DIR/conf" "$R/etc/mysql/conf.d"
mount --bind "$POD_DIR/my.cnf" "$R/etc/mysql/my.cnf"
mount --bind "$POD_DIR/tls" "$R/etc/mysql/tls"
mount --bind "$POD_DIR/volume/mysql" "$R/var/lib/mysql"
mount --bind "$POD_DIR/run" "$R/run/mysqld"
mount -t tmpfs tmpfs "$R/opt"
mkdir -p "$R/opt/mysql-replication/bin"
mount --bind "$POD_DIR/helper" "$R/opt/mysql-replication/bin"
hostname "$POD_NAME"
cd /
if [ -n "$R" ]; then
  mount --bind /etc/hosts "$R/etc/hosts"
  mount --bind /etc/resolv.conf "$R/etc/resolv.conf"
  mount -t proc proc "$R/proc"
  mount --rbind /dev "$R/dev"
  mount -t tmpfs tmpfs "$R/tmp"
  if [ -n "${RUN_AS:-}" ]; then
    exec chroot --userspec="$RUN_AS" --groups="$FS_GROUP" "$R" "$@"
  fi
  exec chroot "$R" "$@"
fi
exec "$@"
`

// command returns a command running argv in the pod with the given
// environment (container variables already resolved).
func (p *pod) command(env []string, argv ...string) *exec.Cmd {
	args := append([]string{"netns", "exec", p.ns, "unshare", "--mount", "--uts", "--propagation", "private", "--",
		"bash", "-c", podSetup, "pod-setup"}, argv...)
	cmd := exec.Command("ip", args...)
	cmd.Env = append([]string{
		"PATH=" + p.r.binDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		// $HOSTNAME is the node's name, as with hostNetwork: the
		// scripts read the ordinal from the pod-index label.
		"HOSTNAME=" + nodeName, "POD_NAME=" + p.name, "POD_DIR=" + p.dir, "ROOT=" + p.r.root, "HOME=/root", "LANG=C.UTF-8",
	}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// runContainer runs an init container's command to completion and returns
// its output and error.
func (p *pod) runContainer(c corev1.Container, timeout time.Duration) (string, error) {
	return p.runArgv(p.env(c), c.Command, timeout)
}

func (p *pod) runArgv(env, argv []string, timeout time.Duration) (string, error) {
	cmd := p.command(env, argv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	p.r.track(cmd)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		p.r.keepLog(out.String())
		return out.String(), err
	case <-time.After(timeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return out.String(), fmt.Errorf("timed out after %v", timeout)
	}
}

// start runs a long-lived process (mysqld, the sidecar) in the background,
// its output in the pod's logs directory.
func (p *pod) start(what string, env, argv []string) (*exec.Cmd, string) {
	t := p.r.t
	t.Helper()
	p.starts++
	logPath := filepath.Join(p.dir, "logs", fmt.Sprintf("%s.%d.log", what, p.starts))
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := p.command(env, argv...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p.r.track(cmd)
	go func() { _ = cmd.Wait() }()
	return cmd, logPath
}

func stop(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(-cmd.Process.Pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// crash kills cmd's process group with SIGKILL, as a node that loses power
// does, and waits until it is gone.
func crash(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	for syscall.Kill(-cmd.Process.Pid, 0) == nil {
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *rig) track(cmd *exec.Cmd) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.procs = append(r.procs, cmd)
}

func (r *rig) keepLog(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, s)
}

// env resolves a container's environment the way the kubelet would: the
// Secret's values, and the pod-index label through the downward API.
func (p *pod) env(c corev1.Container) []string {
	var out []string
	for _, e := range c.Env {
		v := e.Value
		switch from := e.ValueFrom; {
		case from == nil:
		case from.SecretKeyRef != nil:
			v = p.r.secret[from.SecretKeyRef.Key]
		case from.FieldRef != nil && from.FieldRef.FieldPath == "metadata.labels['"+contract.PodIndexLabel+"']":
			v = fmt.Sprint(p.ordinal)
		case from.FieldRef != nil && from.FieldRef.FieldPath == "metadata.namespace":
			v = p.r.namespace()
		case from.ResourceFieldRef != nil:
			v = p.r.containerResource(from.ResourceFieldRef)
		case from.FieldRef != nil && strings.HasPrefix(from.FieldRef.FieldPath, "metadata.annotations['"):
			v = p.r.annotations[strings.TrimSuffix(strings.TrimPrefix(from.FieldRef.FieldPath, "metadata.annotations['"), "']")]
		default:
			p.r.t.Fatalf("container %s: the rig cannot resolve variable %s", c.Name, e.Name)
		}
		out = append(out, e.Name+"="+v)
	}
	// In a root filesystem of the database image, an injected container
	// runs as the user its security context names, with the pod's fsGroup
	// (the database container's stand-in entrypoint starts as root and
	// drops to mysql, as the image's does).
	if sc := c.SecurityContext; p.r.root != "" && c.Name != contract.MySQLContainer && sc != nil && sc.RunAsUser != nil {
		group := *sc.RunAsUser
		if sc.RunAsGroup != nil {
			group = *sc.RunAsGroup
		}
		out = append(out, fmt.Sprintf("RUN_AS=%d:%d", *sc.RunAsUser, group), fmt.Sprintf("FS_GROUP=%d", p.r.fsGroup()))
	}
	return out
}

// containerResource is what the downward API answers for ref: a request or
// limit of a container of the pod template, in units of its divisor.
func (r *rig) containerResource(ref *corev1.ResourceFieldSelector) string {
	for _, c := range append(r.sts.Spec.Template.Spec.InitContainers, r.sts.Spec.Template.Spec.Containers...) {
		if c.Name != ref.ContainerName {
			continue
		}
		list, name, _ := strings.Cut(ref.Resource, ".")
		q, ok := c.Resources.Requests[corev1.ResourceName(name)]
		if list == "limits" {
			q, ok = c.Resources.Limits[corev1.ResourceName(name)]
		}
		if !ok {
			r.t.Fatalf("the rig answers %s of container %s only where it is set", ref.Resource, ref.ContainerName)
		}
		divisor := ref.Divisor
		if divisor.IsZero() {
			divisor = resource.MustParse("1")
		}
		return fmt.Sprint((q.Value() + divisor.Value() - 1) / divisor.Value())
	}
	r.t.Fatalf("no container %s for %s", ref.ContainerName, ref.Resource)
	return ""
}

// fsGroup is the pod template's fsGroup.
func (r *rig) fsGroup() int64 {
	if sc := r.sts.Spec.Template.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		return *sc.FSGroup
	}
	r.t.Fatal("the pod template has no fsGroup")
	return 0
}

func (r *rig) cleanup() {
	r.mu.Lock()
	procs := r.procs
	r.mu.Unlock()
	for _, cmd := range procs {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	time.Sleep(200 * time.Millisecond)
	out, _ := exec.Command("ip", "netns", "list").Output()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name := strings.Fields(sc.Text())
		if len(name) > 0 && strings.HasPrefix(name[0], "mrw"+r.id) {
			_ = exec.Command("ip", "netns", "pids", name[0]).Run()
			if pids, _ := exec.Command("ip", "netns", "pids", name[0]).Output(); len(pids) > 0 {
				for _, pid := range strings.Fields(string(pids)) {
					_ = exec.Command("kill", "-9", pid).Run()
				}
			}
			_ = exec.Command("ip", "netns", "del", name[0]).Run()
			_ = os.RemoveAll(filepath.Join("/etc/netns", name[0]))
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitPort waits until addr accepts connections from inside pod from.
func (p *pod) waitPort(port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, err := p.runArgv(nil, []string{"bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d", port)}, 5*time.Second)
		if err == nil {
			return nil
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("port %d of %s did not open within %v", port, p.name, timeout)
}
