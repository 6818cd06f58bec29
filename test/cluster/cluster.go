// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package cluster runs a real Kubernetes cluster of one or more nodes on
// this machine, without Docker and without a registry: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and CoreDNS for
// the cluster; for each node, in a network namespace of its own, containerd
// with runc and the bridge CNI plugin, the kubelet and kube-proxy in
// iptables mode; each a process of this machine (hack/setup-cluster.sh
// installs them). Images are OCI archives imported into each node's
// containerd; volumes are hostPath PersistentVolumes of a no-provisioner
// StorageClass, reachable from every node as network storage is.
//
// Every address the cluster uses is in 10.250.0.0/16 and stays on this
// machine: the control plane's address on a bridge of its own, each node's
// on a veth to that bridge, the pods on a CNI bridge inside their node's
// namespace, the Service range routed to the first node. Before anything
// starts, firewall rules drop every packet from or to that range on the
// machine's outside interfaces. Pods get an empty resolver configuration
// and CoreDNS answers for the cluster only. Stop tears everything down:
// processes by their pid, mounts, namespaces, bridges, routes, the iptables
// chains the kubelet and kube-proxy made, cgroups and sysctls.
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
	"sync"
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

// NodesFromEnv is the number of nodes NODES asks for (make e2e and make
// demo set it; 1 when unset).
func NodesFromEnv() (int, error) {
	v := os.Getenv("NODES")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxNodes {
		return 0, fmt.Errorf("NODES=%q: give a number of nodes from 1 to %d", v, MaxNodes)
	}
	return n, nil
}

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
	// Volumes is the number of PersistentVolumes to create (default 40:
	// make e2e claims about 27, and a released volume is not bound again).
	Volumes int
	// Nodes is the number of nodes, 1 to MaxNodes (default 1).
	Nodes int
	// Log receives one line per step.
	Log io.Writer
}

// Cluster is a running cluster.
type Cluster struct {
	opts       Options
	nodes      []node
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
		opts.Volumes = 40
	}
	if opts.Nodes == 0 {
		opts.Nodes = 1
	}
	if opts.Nodes < 1 || opts.Nodes > MaxNodes {
		return nil, fmt.Errorf("a cluster has 1 to %d nodes, not %d", MaxNodes, opts.Nodes)
	}
	c := &Cluster{opts: opts, nodes: nodesOf(opts.Nodes)}
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
	if err := step(fmt.Sprintf("network: guard rules, bridge, %d node namespaces, routes", len(c.nodes)), c.network); err != nil {
		return nil, err
	}
	if err := step("control plane: etcd, kube-apiserver, controller-manager, scheduler", func() error { return c.controlPlane(ctx) }); err != nil {
		return nil, err
	}
	if err := step("containerd and images on each node", func() error { return c.runtimes(ctx) }); err != nil {
		return nil, err
	}
	if err := step("nodes: kubelet and kube-proxy on each, CoreDNS", func() error { return c.startNodes(ctx) }); err != nil {
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
	return nodeNetwork(c.nodes)
}

// NodeNames are the names of the cluster's nodes.
func (c *Cluster) NodeNames() []string {
	names := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		names[i] = n.Name
	}
	return names
}

// startIn runs a process of node n, in its network namespace (and the
// machine's mount namespace, which the kubelet's mounts must reach).
func (c *Cluster) startIn(n node, name string, args ...string) (*proc, error) {
	return c.start(name+"-"+n.Name, append([]string{"nsenter", "--net=" + n.netns(), "--"}, args...)...)
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
	ip := net.ParseIP(controlPlaneIP)
	certs := map[string]testcerts.Spec{
		"apiserver": {CommonName: "kube-apiserver", IPs: []net.IP{ip, net.ParseIP(apiServiceIP), net.ParseIP("127.0.0.1")},
			DNSNames: []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"}},
		"admin":                    {CommonName: "admin", Organization: []string{"system:masters"}},
		"apiserver-kubelet-client": {CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
	}
	for _, n := range c.nodes {
		certs["kubelet-"+n.Name] = testcerts.Spec{CommonName: "system:node:" + n.Name, Organization: []string{"system:nodes"},
			IPs: []net.IP{net.ParseIP(n.IP)}, DNSNames: []string{n.Name}}
	}
	for name, spec := range certs {
		if err := p.issue(name, spec); err != nil {
			return err
		}
	}
	server := "https://" + controlPlaneIP + ":6443"
	admin, err := p.kubeconfig("admin", server)
	if err != nil {
		return err
	}
	for _, n := range c.nodes {
		if _, err := p.kubeconfig("kubelet-"+n.Name, server); err != nil {
			return err
		}
	}
	c.Kubeconfig = admin

	if _, err := c.start("etcd", c.bin("etcd"), "--data-dir", c.path("etcd"),
		"--listen-client-urls", "http://"+controlPlaneIP+":2379", "--advertise-client-urls", "http://"+controlPlaneIP+":2379",
		"--listen-peer-urls", "http://"+controlPlaneIP+":2380", "--initial-advertise-peer-urls", "http://"+controlPlaneIP+":2380",
		"--initial-cluster", "default=http://"+controlPlaneIP+":2380", "--listen-metrics-urls", "http://"+controlPlaneIP+":2381"); err != nil {
		return err
	}
	if _, err := c.start("kube-apiserver", c.bin("kube-apiserver"),
		"--etcd-servers", "http://"+controlPlaneIP+":2379",
		"--bind-address", controlPlaneIP, "--advertise-address", controlPlaneIP, "--secure-port", "6443",
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
		"--bind-address", controlPlaneIP, "--leader-elect=false",
		"--service-cluster-ip-range", serviceCIDR, "--cluster-cidr", podRange,
		"--root-ca-file", p.path("ca.crt"), "--service-account-private-key-file", p.path("sa.key"),
		"--use-service-account-credentials=true",
		"--controllers", "*,-nodeipam",
	); err != nil {
		return err
	}
	if _, err := c.start("kube-scheduler", c.bin("kube-scheduler"),
		"--kubeconfig", admin, "--authentication-kubeconfig", admin, "--authorization-kubeconfig", admin,
		"--bind-address", controlPlaneIP, "--leader-elect=false"); err != nil {
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

// nodePath is a path in node n's own state directory.
func (c *Cluster) nodePath(n node, rel ...string) string {
	return c.path(append([]string{"nodes", n.Name}, rel...)...)
}

func (c *Cluster) containerdSocket(n node) string {
	return c.nodePath(n, "containerd", "containerd.sock")
}

// onEachNode runs f for every node at once and returns the first error.
func (c *Cluster) onEachNode(f func(node) error) error {
	errs := make(chan error, len(c.nodes))
	for _, n := range c.nodes {
		go func() { errs <- f(n) }()
	}
	var first error
	for range c.nodes {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// runtimes starts each node's containerd and imports the images into it.
func (c *Cluster) runtimes(ctx context.Context) error {
	if err := os.WriteFile(c.path("resolv.conf"), nil, 0o644); err != nil {
		return err
	}
	for _, n := range c.nodes {
		if err := c.runtime(ctx, n); err != nil {
			return err
		}
	}
	images := append([]Image{{Name: PauseImage, Files: []File{{Path: "/pause", Mode: 0o755, Content: mustRead(c.bin("pause"))}}, Entrypoint: []string{"/pause"}, User: "65535:65535"}}, c.opts.Images...)
	for _, im := range images {
		if err := c.Import(ctx, im); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) runtime(ctx context.Context, n node) error {
	for _, d := range []string{"containerd/root", "containerd/state", "cni/net.d", "cni/ipam"} {
		if err := os.MkdirAll(c.nodePath(n, d), 0o755); err != nil {
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
`, c.nodePath(n, "containerd", "root"), c.nodePath(n, "containerd", "state"), c.containerdSocket(n), PauseImage, cniBin, c.nodePath(n, "cni", "net.d"))
	if err := os.WriteFile(c.nodePath(n, "containerd", "config.toml"), []byte(config), 0o644); err != nil {
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
`, podBridge, n.PodCIDR, n.PodGateway, c.nodePath(n, "cni", "ipam"))
	if err := os.WriteFile(c.nodePath(n, "cni", "net.d", "10-bridge.conflist"), []byte(cni), 0o644); err != nil {
		return err
	}
	containerd, err := exec.LookPath("containerd")
	if err != nil {
		return err
	}
	if _, err := c.startIn(n, "containerd", containerd, "--config", c.nodePath(n, "containerd", "config.toml")); err != nil {
		return err
	}
	return c.wait(ctx, "containerd's socket on "+n.Name, time.Minute, func() bool {
		conn, err := net.Dial("unix", c.containerdSocket(n))
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
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

// Import writes im as an OCI archive (cached) and imports it into the
// k8s.io namespace of every node's containerd.
func (c *Cluster) Import(ctx context.Context, im Image) error {
	start := time.Now()
	archive, err := im.Archive(ImageCache())
	if err != nil {
		return fmt.Errorf("image %s: %w", im.Name, err)
	}
	err = c.onEachNode(func(n node) error {
		ctr := func(args ...string) ([]byte, error) {
			return exec.CommandContext(ctx, "ctr", append([]string{"--address", c.containerdSocket(n), "-n", "k8s.io", "images", "import"}, args...)...).CombinedOutput()
		}
		out, err := ctr("--no-unpack=false", archive)
		if err != nil {
			// Older ctr has no --no-unpack flag: unpacking is its default.
			out, err = ctr(archive)
		}
		if err != nil {
			return fmt.Errorf("importing %s on %s: %w: %s", im.Name, n.Name, err, out)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.logf("image %s imported on %d nodes (%s)", im.Ref(), len(c.nodes), time.Since(start).Round(100*time.Millisecond))
	return nil
}

// devicePluginSocket is where every kubelet of this machine serves its
// device plugin registry.
const devicePluginSocket = "/var/lib/kubelet/device-plugins/kubelet.sock"

// startNodes starts each node's kubelet and kube-proxy, and CoreDNS for
// the cluster on the control plane's address, and waits for every node to
// be Ready.
func (c *Cluster) startNodes(ctx context.Context) error {
	for _, n := range c.nodes {
		started := time.Now().Add(-time.Second)
		if err := c.startNode(n); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		// Every kubelet serves its device plugin registry on the same
		// path, which none of its flags moves: each removes the socket it
		// finds there and binds its own, and a kubelet that binds while
		// another removes fails to start. The next kubelet starts once
		// this one has bound.
		_ = c.wait(ctx, "kubelet-"+n.Name+" to bind "+devicePluginSocket, 15*time.Second, func() bool {
			st, err := os.Stat(devicePluginSocket)
			return err == nil && st.ModTime().After(started)
		})
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
`, controlPlaneIP, c.Kubeconfig)
	if err := os.WriteFile(c.path("Corefile"), []byte(corefile), 0o644); err != nil {
		return err
	}
	if _, err := c.start("coredns", c.bin("coredns"), "-conf", c.path("Corefile")); err != nil {
		return err
	}
	return c.wait(ctx, fmt.Sprintf("%d nodes to be Ready", len(c.nodes)), 3*time.Minute, func() bool {
		for _, n := range c.nodes {
			node, err := c.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil || !nodeReady(node) {
				return false
			}
		}
		return true
	})
}

func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// startNode starts node n's kubelet, below a cgroup root of its own, and
// its kube-proxy.
func (c *Cluster) startNode(n node) error {
	if err := cgroupRoot(n.Name); err != nil {
		return err
	}
	kubeletConfig := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /%[8]s
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
clusterDNS: [%[9]s]
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
`, c.containerdSocket(n), n.IP, c.pki.path("ca.crt"), c.pki.path("kubelet-"+n.Name+".crt"), c.pki.path("kubelet-"+n.Name+".key"),
		c.path("resolv.conf"), c.nodePath(n, "pod-logs"), n.Name, controlPlaneIP)
	if err := os.WriteFile(c.nodePath(n, "kubelet-config.yaml"), []byte(kubeletConfig), 0o644); err != nil {
		return err
	}
	if _, err := c.startIn(n, "kubelet", c.bin("kubelet"),
		"--config", c.nodePath(n, "kubelet-config.yaml"), "--kubeconfig", c.pki.path("kubelet-"+n.Name+".kubeconfig"),
		"--root-dir", c.nodePath(n, "kubelet"), "--cert-dir", c.nodePath(n, "kubelet-pki"),
		"--node-ip", n.IP, "--hostname-override", n.Name, "--v", "1"); err != nil {
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
`, c.Kubeconfig, n.Name, n.IP, podRange)
	if err := os.WriteFile(c.nodePath(n, "kube-proxy-config.yaml"), []byte(proxyConfig), 0o644); err != nil {
		return err
	}
	_, err := c.startIn(n, "kube-proxy", c.bin("kube-proxy"), "--config", c.nodePath(n, "kube-proxy-config.yaml"))
	return err
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

// removePods removes every pod sandbox of every node's containerd that
// still answers, through the CRI.
func (c *Cluster) removePods() {
	sockets, _ := filepath.Glob(c.path("nodes", "*", "containerd", "containerd.sock"))
	var wg sync.WaitGroup
	for _, sock := range sockets {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, c.bin("crictl"), "--runtime-endpoint", "unix://"+sock, "--timeout", "60s", "rmp", "--all", "--force")
			if out, err := cmd.CombinedOutput(); err != nil {
				c.logf("crictl rmp (%s): %v: %s", sock, err, out)
			}
		})
	}
	wg.Wait()
}

// Stop tears the cluster down; it never fails, and leaves only logs/.
func (c *Cluster) Stop() {
	c.logf("tearing down")
	// The kubelets first, so that they restart nothing; then every pod
	// sandbox through the CRI, which tears down their networks and mounts.
	for _, p := range c.procs {
		if strings.HasPrefix(p.name, "kubelet-") {
			stopProc(p, 10*time.Second)
		}
	}
	c.removePods()
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
	removePodNetns()
	removeNodeNetwork()
	removeCgroups(nodePrefix + "*")
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
// this cluster's containerds, found by their sockets, in the cluster's
// directory, on their command line.
func (c *Cluster) killShims() {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range procs {
		b, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(b), "containerd-shim") || !strings.Contains(string(b), c.opts.Dir+"/") {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		if pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// removePodNetns removes network namespaces the CNI made for pods
// (containerd names them cni-<uuid>); a namespace still in use keeps its
// processes, which the steps before have ended.
func removePodNetns() {
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
	c.removePods()
	c.cleanup()
}
