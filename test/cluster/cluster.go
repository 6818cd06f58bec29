// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package cluster runs a real one-node Kubernetes cluster on this machine,
// without Docker and without a registry: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, containerd with runc and the
// bridge CNI plugin, the kubelet, kube-proxy in iptables mode and CoreDNS,
// each a process of this machine (hack/setup-cluster.sh installs them).
// Images are OCI archives imported into containerd; volumes are hostPath
// PersistentVolumes of a no-provisioner StorageClass.
//
// Every address the cluster uses is in 10.250.0.0/16 and stays on this
// machine: the node's address on a bridge of its own, the pods on the CNI
// bridge, the Service range routed to the node bridge. Before anything
// starts, firewall rules drop every packet from or to that range on the
// machine's outside interfaces. Pods get an empty resolver configuration
// and CoreDNS answers for the cluster only. Stop tears everything down:
// processes by their pid, mounts, bridges, routes, the iptables chains the
// kubelet and kube-proxy made, cgroups and sysctls.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/testcerts"
)

// DefaultDir holds the cluster's state while it runs.
const DefaultDir = "/var/lib/mysql-replication-e2e"

// StorageClass is the default StorageClass, backed by hostPath volumes.
const StorageClass = "standard"

// Options configure a cluster.
type Options struct {
	// Bin is the directory hack/setup-cluster.sh prints.
	Bin string
	// Dir holds the state (DefaultDir when empty); its logs/ stay after Stop.
	Dir string
	// Images are imported before the node registers.
	Images []Image
	// Volumes is the number of PersistentVolumes to create (default 20).
	Volumes int
	// Log receives one line per step.
	Log io.Writer
}

// Cluster is a running one-node cluster.
type Cluster struct {
	opts       Options
	pki        *pki
	procs      []*proc
	oldSysctls map[string]string
	lock       *os.File
	// Kubeconfig is an admin kubeconfig for the cluster.
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	// Timings of the steps of Start.
	Timings []Timing
}

// Timing is how long one step took.
type Timing struct {
	Step string
	Took time.Duration
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (c *Cluster) logf(format string, args ...any) {
	if c.opts.Log != nil {
		fmt.Fprintf(c.opts.Log, "cluster: "+format+"\n", args...)
	}
}

func (c *Cluster) path(rel ...string) string {
	return filepath.Join(append([]string{c.opts.Dir}, rel...)...)
}

func (c *Cluster) bin(name string) string { return filepath.Join(c.opts.Bin, name) }

// Start brings the cluster up; on failure it tears down what it started.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if os.Getuid() != 0 {
		return nil, errors.New("a cluster on this machine needs root")
	}
	if opts.Dir == "" {
		opts.Dir = DefaultDir
	}
	if opts.Volumes == 0 {
		opts.Volumes = 20
	}
	c := &Cluster{opts: opts}
	// One cluster at a time on this machine.
	lock, err := os.OpenFile(opts.Dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("another cluster of this project runs on this machine (%s is locked)", lock.Name())
	}
	c.lock = lock
	// A run that was killed may have left its state behind.
	c.cleanup()
	if err := os.MkdirAll(c.path("logs"), 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	step := func(name string, f func() error) error {
		start := time.Now()
		c.logf("%s", name)
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		c.Timings = append(c.Timings, Timing{name, time.Since(start)})
		return nil
	}
	if err := step("network: guard rules, node bridge, Service route", c.network); err != nil {
		return nil, err
	}
	if err := step("control plane: etcd, kube-apiserver, controller-manager, scheduler", func() error { return c.controlPlane(ctx) }); err != nil {
		return nil, err
	}
	if err := step("containerd and images", func() error { return c.runtime(ctx) }); err != nil {
		return nil, err
	}
	if err := step("node: kubelet, kube-proxy, CoreDNS", func() error { return c.node(ctx) }); err != nil {
		return nil, err
	}
	if err := step("storage: StorageClass and hostPath volumes", func() error { return c.storage(ctx) }); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) network() error {
	if err := guard(); err != nil {
		return err
	}
	old, err := setSysctls()
	c.oldSysctls = old
	if b, merr := json.Marshal(old); merr == nil {
		_ = os.WriteFile(c.path("sysctls.json"), b, 0o644)
	}
	if err != nil {
		return err
	}
	return nodeNetwork()
}

func (c *Cluster) start(name string, args ...string) (*proc, error) {
	logf, err := os.Create(c.path("logs", name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	c.procs = append(c.procs, p)
	// The pid with its start time, so that a later cleanup ends this
	// process and never another that got the same pid.
	_ = os.WriteFile(c.path("pids", name), []byte(fmt.Sprintf("%d %s", cmd.Process.Pid, startTime(cmd.Process.Pid))), 0o644)
	return p, nil
}

// wait polls cond until it holds, ctx ends, or one of the processes exits.
func (c *Cluster) wait(ctx context.Context, what string, timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if cond() {
			return nil
		}
		for _, p := range c.procs {
			select {
			case <-p.done:
				return fmt.Errorf("%s exited (%v) while waiting for %s; see %s", p.name, p.err, what, c.path("logs", p.name+".log"))
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (c *Cluster) controlPlane(ctx context.Context) error {
	if err := os.MkdirAll(c.path("pids"), 0o755); err != nil {
		return err
	}
	p, err := newPKI(c.path("pki"))
	if err != nil {
		return err
	}
	c.pki = p
	ip := net.ParseIP(nodeIP)
	for name, spec := range map[string]testcerts.Spec{
		"apiserver": {CommonName: "kube-apiserver", IPs: []net.IP{ip, net.ParseIP(apiServiceIP), net.ParseIP("127.0.0.1")},
			DNSNames: []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"}},
		"admin":                    {CommonName: "admin", Organization: []string{"system:masters"}},
		"kubelet":                  {CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"}, IPs: []net.IP{ip}, DNSNames: []string{nodeName}},
		"apiserver-kubelet-client": {CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
	} {
		if err := p.issue(name, spec); err != nil {
			return err
		}
	}
	server := "https://" + nodeIP + ":6443"
	admin, err := p.kubeconfig("admin", server)
	if err != nil {
		return err
	}
	if _, err := p.kubeconfig("kubelet", server); err != nil {
		return err
	}
	c.Kubeconfig = admin

	if _, err := c.start("etcd", c.bin("etcd"), "--data-dir", c.path("etcd"),
		"--listen-client-urls", "http://"+nodeIP+":2379", "--advertise-client-urls", "http://"+nodeIP+":2379",
		"--listen-peer-urls", "http://"+nodeIP+":2380", "--initial-advertise-peer-urls", "http://"+nodeIP+":2380",
		"--initial-cluster", "default=http://"+nodeIP+":2380", "--listen-metrics-urls", "http://"+nodeIP+":2381"); err != nil {
		return err
	}
	if _, err := c.start("kube-apiserver", c.bin("kube-apiserver"),
		"--etcd-servers", "http://"+nodeIP+":2379",
		"--bind-address", nodeIP, "--advertise-address", nodeIP, "--secure-port", "6443",
		"--cert-dir", c.path("apiserver-certs"),
		"--tls-cert-file", p.path("apiserver.crt"), "--tls-private-key-file", p.path("apiserver.key"),
		"--client-ca-file", p.path("ca.crt"),
		"--service-cluster-ip-range", serviceCIDR,
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", p.path("sa.pub"), "--service-account-signing-key-file", p.path("sa.key"),
		"--authorization-mode", "Node,RBAC",
		"--enable-admission-plugins", "NodeRestriction",
		"--kubelet-client-certificate", p.path("apiserver-kubelet-client.crt"),
		"--kubelet-client-key", p.path("apiserver-kubelet-client.key"),
		"--kubelet-preferred-address-types", "InternalIP",
		"--allow-privileged=true",
		"--profiling=false",
	); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", admin)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 50, 100
	c.Config = cfg
	c.Client, err = kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := c.wait(ctx, "the API server to be ready", 3*time.Minute, func() bool {
		body, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && strings.TrimSpace(string(body)) == "ok"
	}); err != nil {
		return err
	}
	if _, err := c.start("kube-controller-manager", c.bin("kube-controller-manager"),
		"--kubeconfig", admin, "--authentication-kubeconfig", admin, "--authorization-kubeconfig", admin,
		"--bind-address", nodeIP, "--leader-elect=false",
		"--service-cluster-ip-range", serviceCIDR, "--cluster-cidr", podCIDR,
		"--root-ca-file", p.path("ca.crt"), "--service-account-private-key-file", p.path("sa.key"),
		"--use-service-account-credentials=true",
		"--controllers", "*,-nodeipam",
	); err != nil {
		return err
	}
	if _, err := c.start("kube-scheduler", c.bin("kube-scheduler"),
		"--kubeconfig", admin, "--authentication-kubeconfig", admin, "--authorization-kubeconfig", admin,
		"--bind-address", nodeIP, "--leader-elect=false"); err != nil {
		return err
	}
	// The default ServiceAccount exists once the controller-manager runs.
	return c.wait(ctx, "the default ServiceAccount", 2*time.Minute, func() bool {
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
}

// PauseImage is the sandbox image containerd is configured with.
const PauseImage = "registry.k8s.io/pause:3.10"

func (c *Cluster) containerdSocket() string { return c.path("containerd", "containerd.sock") }

func (c *Cluster) runtime(ctx context.Context) error {
	for _, d := range []string{"containerd/root", "containerd/state", "cni/net.d", "cni/ipam"} {
		if err := os.MkdirAll(c.path(d), 0o755); err != nil {
			return err
		}
	}
	cniBin := "/usr/lib/cni"
	if _, err := os.Stat(filepath.Join(cniBin, "bridge")); err != nil {
		cniBin = "/opt/cni/bin"
	}
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = %[3]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[4]q
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[5]q
    conf_dir = %[6]q
`, c.path("containerd", "root"), c.path("containerd", "state"), c.containerdSocket(), PauseImage, cniBin, c.path("cni", "net.d"))
	if err := os.WriteFile(c.path("containerd", "config.toml"), []byte(config), 0o644); err != nil {
		return err
	}
	cni := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "mysql-replication-e2e",
  "plugins": [{
    "type": "bridge",
    "bridge": %q,
    "isGateway": true,
    "ipMasq": false,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "ranges": [[{"subnet": %q, "gateway": %q}]],
      "routes": [{"dst": "0.0.0.0/0"}],
      "dataDir": %q
    }
  }]
}
`, podBridge, podCIDR, podGateway, c.path("cni", "ipam"))
	if err := os.WriteFile(c.path("cni", "net.d", "10-bridge.conflist"), []byte(cni), 0o644); err != nil {
		return err
	}
	containerd, err := exec.LookPath("containerd")
	if err != nil {
		return err
	}
	if _, err := c.start("containerd", containerd, "--config", c.path("containerd", "config.toml")); err != nil {
		return err
	}
	if err := c.wait(ctx, "containerd's socket", time.Minute, func() bool {
		conn, err := net.Dial("unix", c.containerdSocket())
		if err == nil {
			conn.Close()
		}
		return err == nil
	}); err != nil {
		return err
	}
	images := append([]Image{{Name: PauseImage, Files: []File{{Path: "/pause", Mode: 0o755, Content: mustRead(c.bin("pause"))}}, Entrypoint: []string{"/pause"}, User: "65535:65535"}}, c.opts.Images...)
	for _, im := range images {
		if err := c.Import(ctx, im); err != nil {
			return err
		}
	}
	return nil
}

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// ImageCache is where image archives are kept between runs.
func ImageCache() string {
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		base = filepath.Join(os.Getenv("HOME"), ".local", "share")
	}
	return filepath.Join(base, "mysql-replication-webhook", "cluster", "images")
}

// Import writes im as an OCI archive (cached) and imports it into
// containerd's k8s.io namespace.
func (c *Cluster) Import(ctx context.Context, im Image) error {
	start := time.Now()
	archive, err := im.Archive(ImageCache())
	if err != nil {
		return fmt.Errorf("image %s: %w", im.Name, err)
	}
	out, err := exec.CommandContext(ctx, "ctr", "--address", c.containerdSocket(), "-n", "k8s.io",
		"images", "import", "--no-unpack=false", archive).CombinedOutput()
	if err != nil {
		// Older ctr has no --no-unpack flag: unpacking is its default.
		out, err = exec.CommandContext(ctx, "ctr", "--address", c.containerdSocket(), "-n", "k8s.io",
			"images", "import", archive).CombinedOutput()
	}
	if err != nil {
		return fmt.Errorf("importing %s: %w: %s", im.Name, err, out)
	}
	c.logf("image %s imported (%s)", im.Ref(), time.Since(start).Round(100*time.Millisecond))
	return nil
}

func (c *Cluster) node(ctx context.Context) error {
	if err := os.WriteFile(c.path("resolv.conf"), nil, 0o644); err != nil {
		return err
	}
	kubeletConfig := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://%[1]s
address: %[2]s
healthzBindAddress: %[2]s
healthzPort: 10248
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: %[3]s}
authorization: {mode: AlwaysAllow}
tlsCertFile: %[4]s
tlsPrivateKeyFile: %[5]s
clusterDomain: cluster.local
clusterDNS: [%[2]s]
resolvConf: %[6]s
podLogsDir: %[7]s
failSwapOn: false
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%%, imagefs.available: 1%%, nodefs.inodesFree: 1%%}
localStorageCapacityIsolation: false
rotateCertificates: false
serverTLSBootstrap: false
staticPodPath: ""
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
`, c.containerdSocket(), nodeIP, c.pki.path("ca.crt"), c.pki.path("kubelet.crt"), c.pki.path("kubelet.key"),
		c.path("resolv.conf"), c.path("pod-logs"))
	if err := os.WriteFile(c.path("kubelet-config.yaml"), []byte(kubeletConfig), 0o644); err != nil {
		return err
	}
	if _, err := c.start("kubelet", c.bin("kubelet"),
		"--config", c.path("kubelet-config.yaml"), "--kubeconfig", c.pki.path("kubelet.kubeconfig"),
		"--root-dir", c.path("kubelet"), "--cert-dir", c.path("kubelet-pki"),
		"--node-ip", nodeIP, "--hostname-override", nodeName, "--v", "1"); err != nil {
		return err
	}
	proxyConfig := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: %[1]s}
mode: iptables
hostnameOverride: %[2]s
bindAddress: %[3]s
healthzBindAddress: %[3]s:10256
metricsBindAddress: %[3]s:10249
clusterCIDR: %[4]s
nodePortAddresses: [%[3]s/32]
iptables: {masqueradeAll: true, localhostNodePorts: false}
conntrack: {maxPerCore: 0}
`, c.Kubeconfig, nodeName, nodeIP, podCIDR)
	if err := os.WriteFile(c.path("kube-proxy-config.yaml"), []byte(proxyConfig), 0o644); err != nil {
		return err
	}
	if _, err := c.start("kube-proxy", c.bin("kube-proxy"), "--config", c.path("kube-proxy-config.yaml")); err != nil {
		return err
	}
	corefile := fmt.Sprintf(`.:53 {
    bind %s
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig %s e2e
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`, nodeIP, c.Kubeconfig)
	if err := os.WriteFile(c.path("Corefile"), []byte(corefile), 0o644); err != nil {
		return err
	}
	if _, err := c.start("coredns", c.bin("coredns"), "-conf", c.path("Corefile")); err != nil {
		return err
	}
	return c.wait(ctx, "the node to be Ready", 3*time.Minute, func() bool {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue
			}
		}
		return false
	})
}

func (c *Cluster) storage(ctx context.Context) error {
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	reclaim := corev1.PersistentVolumeReclaimRetain
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: StorageClass,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: &mode,
		ReclaimPolicy:     &reclaim,
	}
	if _, err := c.Client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
		return err
	}
	hostPathType := corev1.HostPathDirectoryOrCreate
	for i := range c.opts.Volumes {
		name := fmt.Sprintf("e2e-pv-%02d", i)
		dir := c.path("volumes", name)
		// hostPath volumes get no fsGroup ownership: writable for the pods' users.
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			return err
		}
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("20Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: reclaim,
				StorageClassName:              StorageClass,
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &hostPathType},
				},
			},
		}
		if _, err := c.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// Start runs a further process of the cluster (such as cert-manager), to
// be stopped with it.
func (c *Cluster) Start(name string, args ...string) error {
	_, err := c.start(name, args...)
	return err
}

// StopProcess stops the cluster's process name.
func (c *Cluster) StopProcess(name string) {
	for _, p := range c.procs {
		if p.name == name {
			stopProc(p, 10*time.Second)
		}
	}
}

// Log is the path of a process's log.
func (c *Cluster) Log(name string) string { return c.path("logs", name+".log") }

// Dir is the cluster's state directory.
func (c *Cluster) Dir() string { return c.opts.Dir }

func stopProc(p *proc, grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (c *Cluster) procNamed(name string) *proc {
	for _, p := range c.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

// Stop tears the cluster down; it never fails, and leaves only logs/.
func (c *Cluster) Stop() {
	c.logf("tearing down")
	// The kubelet first, so that it restarts nothing; then every pod sandbox
	// through the CRI, which tears down their networks and mounts.
	if p := c.procNamed("kubelet"); p != nil {
		stopProc(p, 10*time.Second)
	}
	if p := c.procNamed("containerd"); p != nil {
		select {
		case <-p.done:
		default:
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			cmd := exec.CommandContext(ctx, c.bin("crictl"), "--runtime-endpoint", "unix://"+c.containerdSocket(), "--timeout", "60s", "rmp", "--all", "--force")
			if out, err := cmd.CombinedOutput(); err != nil {
				c.logf("crictl rmp: %v: %s", err, out)
			}
			cancel()
		}
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		stopProc(c.procs[i], 10*time.Second)
	}
	c.procs = nil
	c.cleanup()
	if c.lock != nil {
		c.lock.Close()
	}
}

// cleanup removes what a cluster leaves on the machine, also after a run
// that was killed: processes recorded by pid, the shims of its containerd,
// mounts under its directory, the iptables rules, bridges, routes and cgroups.
func (c *Cluster) cleanup() {
	if _, err := os.Stat(c.opts.Dir); err != nil {
		unguardIfOurs()
		return
	}
	pids, _ := filepath.Glob(c.path("pids", "*"))
	for _, f := range pids {
		b, _ := os.ReadFile(f)
		fields := strings.Fields(string(b))
		if len(fields) == 2 {
			if pid, err := strconv.Atoi(fields[0]); err == nil && pid > 1 && startTime(pid) == fields[1] {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = os.Remove(f)
	}
	c.killShims()
	// kube-proxy's own cleanup of its rules, then whatever is left.
	if _, err := os.Stat(c.bin("kube-proxy")); err == nil {
		_ = exec.Command(c.bin("kube-proxy"), "--cleanup").Run()
	}
	removeKubeRules()
	unmountUnder(c.opts.Dir)
	removeNetnsOf(c.path("containerd"))
	removeNodeNetwork()
	removeCgroups("kubepods")
	removeCgroups("k8s.io")
	unguard()
	// The sysctls as they were before the cluster started.
	if b, err := os.ReadFile(c.path("sysctls.json")); err == nil {
		old := map[string]string{}
		if json.Unmarshal(b, &old) == nil {
			restoreSysctls(old)
		}
	} else {
		restoreSysctls(c.oldSysctls)
	}
	entries, _ := os.ReadDir(c.opts.Dir)
	for _, e := range entries {
		if e.Name() != "logs" {
			_ = os.RemoveAll(c.path(e.Name()))
		}
	}
}

func unguardIfOurs() {
	if run("iptables", "-S", guardChain) == nil {
		unguard()
	}
}

// startTime is field 22 of /proc/PID/stat: when the process started, in
// clock ticks since boot.
func startTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	// The command name may hold spaces: fields count from after its ')'.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// killShims kills containerd shims (and so their containers) started for
// this cluster's containerd, found by its socket on their command line.
func (c *Cluster) killShims() {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range procs {
		b, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(b), "containerd-shim") || !strings.Contains(string(b), c.containerdSocket()) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		if pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// removeNetnsOf removes network namespaces the CNI made for pods of this
// cluster (containerd names them cni-<uuid>); a namespace still in use
// keeps its processes, which the steps before have ended.
func removeNetnsOf(string) {
	entries, _ := os.ReadDir("/var/run/netns")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "cni-") {
			p := filepath.Join("/var/run/netns", e.Name())
			_ = syscall.Unmount(p, syscall.MNT_DETACH)
			_ = os.Remove(p)
		}
	}
}

// HTTPClient is a client for the cluster's API server with admin rights.
func (c *Cluster) HTTPClient() (*http.Client, error) { return rest.HTTPClientFor(c.Config) }

// Down tears down a cluster left running (make e2e KEEP=1, make demo KEEP=1)
// from the state in dir.
func Down(bin, dir string, log io.Writer) {
	if dir == "" {
		dir = DefaultDir
	}
	c := &Cluster{opts: Options{Bin: bin, Dir: dir, Log: log}}
	c.logf("tearing down the cluster in %s", dir)
	if _, err := os.Stat(c.path("containerd", "containerd.sock")); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		_ = exec.CommandContext(ctx, c.bin("crictl"), "--runtime-endpoint", "unix://"+c.containerdSocket(), "--timeout", "60s", "rmp", "--all", "--force").Run()
		cancel()
	}
	c.cleanup()
}
