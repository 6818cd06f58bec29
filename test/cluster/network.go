// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// The cluster's addresses, all in one private /16 that stays on this machine:
// the control plane's address on a bridge of its own; each node in a network
// namespace of its own, with a veth on that bridge and its pods on a CNI
// bridge inside the namespace; the Service range routed to the first node,
// whose kube-proxy forwards it.
const (
	clusterRange       = "10.250.0.0/16"
	controlPlaneIP     = "10.250.0.1"
	controlPlaneBridge = "mrwnode0"
	podRange           = "10.250.16.0/20"
	podBridge          = "mrwcni0"
	serviceCIDR        = "10.250.2.0/24"
	apiServiceIP       = "10.250.2.1"
	guardChain         = "MRW-E2E-GUARD"
	// nodePrefix names the nodes, their network namespaces and their
	// cgroup roots: mrw-node-1, mrw-node-2, …
	nodePrefix = "mrw-node-"
	// MaxNodes is the most nodes a cluster has (their pod ranges fit in
	// podRange).
	MaxNodes = 9
)

// node is one node of the cluster: its own network namespace (named as
// the node), address and pod range; its own containerd, kubelet and
// kube-proxy run in that namespace.
type node struct {
	Name       string
	IP         string
	PodCIDR    string
	PodGateway string
	// veth is the host's end of the node's link to the bridge.
	veth string
}

func nodesOf(n int) []node {
	nodes := make([]node, n)
	for i := range nodes {
		nodes[i] = node{
			Name:       fmt.Sprintf("%s%d", nodePrefix, i+1),
			IP:         fmt.Sprintf("10.250.0.%d", 11+i),
			PodCIDR:    fmt.Sprintf("10.250.%d.0/24", 17+i),
			PodGateway: fmt.Sprintf("10.250.%d.1", 17+i),
			veth:       fmt.Sprintf("mrwveth%d", i+1),
		}
	}
	return nodes
}

// netns is the path of the node's network namespace.
func (n node) netns() string { return filepath.Join("/run/netns", n.Name) }

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// outsideInterfaces are the links that carry the default routes.
func outsideInterfaces() ([]string, error) {
	out, err := exec.Command("ip", "-o", "route", "show", "default").Output()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ifs []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "dev" && !seen[f[i+1]] {
				seen[f[i+1]] = true
				ifs = append(ifs, f[i+1])
			}
		}
	}
	return ifs, nil
}

// guard adds, before anything of the cluster starts, firewall rules that
// drop every packet from or to the cluster's range on the machine's outside
// interfaces, so nothing of it can leave even by mistake.
func guard() error {
	ifs, err := outsideInterfaces()
	if err != nil {
		return err
	}
	if len(ifs) == 0 {
		ifs = []string{"eth0"}
	}
	_ = run("iptables", "-N", guardChain)
	if err := run("iptables", "-F", guardChain); err != nil {
		return err
	}
	for _, dev := range ifs {
		for _, r := range [][]string{
			{"-o", dev, "-d", clusterRange}, {"-o", dev, "-s", clusterRange},
			{"-i", dev, "-d", clusterRange}, {"-i", dev, "-s", clusterRange},
		} {
			if err := run("iptables", append(append([]string{"-A", guardChain}, r...), "-j", "DROP")...); err != nil {
				return err
			}
		}
	}
	// Between the nodes, over their bridge, whatever the machine's
	// forwarding policy.
	if err := run("iptables", "-A", guardChain, "-i", controlPlaneBridge, "-o", controlPlaneBridge, "-j", "ACCEPT"); err != nil {
		return err
	}
	for _, chain := range []string{"INPUT", "OUTPUT", "FORWARD"} {
		if run("iptables", "-C", chain, "-j", guardChain) != nil {
			if err := run("iptables", "-I", chain, "1", "-j", guardChain); err != nil {
				return err
			}
		}
	}
	// Also in raw, which sees packets before any NAT rewrites them.
	_ = run("iptables", "-t", "raw", "-N", guardChain)
	_ = run("iptables", "-t", "raw", "-F", guardChain)
	for _, dev := range ifs {
		for _, r := range [][]string{{"-o", dev, "-d", clusterRange}, {"-i", dev, "-s", clusterRange}, {"-i", dev, "-d", clusterRange}} {
			if err := run("iptables", append(append([]string{"-t", "raw", "-A", guardChain}, r...), "-j", "DROP")...); err != nil {
				return err
			}
		}
	}
	for _, chain := range []string{"PREROUTING", "OUTPUT"} {
		if run("iptables", "-t", "raw", "-C", chain, "-j", guardChain) != nil {
			if err := run("iptables", "-t", "raw", "-I", chain, "1", "-j", guardChain); err != nil {
				return err
			}
		}
	}
	return nil
}

func unguard() {
	for _, chain := range []string{"INPUT", "OUTPUT", "FORWARD"} {
		for run("iptables", "-D", chain, "-j", guardChain) == nil {
		}
	}
	_ = run("iptables", "-F", guardChain)
	_ = run("iptables", "-X", guardChain)
	for _, chain := range []string{"PREROUTING", "OUTPUT"} {
		for run("iptables", "-t", "raw", "-D", chain, "-j", guardChain) == nil {
		}
	}
	_ = run("iptables", "-t", "raw", "-F", guardChain)
	_ = run("iptables", "-t", "raw", "-X", guardChain)
}

// sysctls the machine needs for the cluster (each node sets its own in its
// namespace), with the values they had, to restore.
var sysctls = map[string]string{
	"net/ipv4/ip_forward": "1",
}

func setSysctls() (map[string]string, error) {
	old := map[string]string{}
	for k, v := range sysctls {
		p := filepath.Join("/proc/sys", k)
		b, err := os.ReadFile(p)
		if err != nil {
			continue // br_netfilter absent: kube-proxy masquerades all Service traffic anyway
		}
		old[k] = strings.TrimSpace(string(b))
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			return old, fmt.Errorf("sysctl %s=%s: %w", k, v, err)
		}
	}
	return old, nil
}

func restoreSysctls(old map[string]string) {
	for k, v := range old {
		_ = os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644)
	}
}

// nodeNetwork puts the control plane's address on a bridge of its own and
// links each node's network namespace to it: routes between the nodes' pod
// ranges, the machine's routes to them, and the Service range routed to the
// first node, so the API server reaches Services (admission webhooks).
func nodeNetwork(nodes []node) error {
	if err := run("ip", "link", "add", controlPlaneBridge, "type", "bridge"); err != nil {
		return err
	}
	if err := run("ip", "addr", "add", controlPlaneIP+"/24", "dev", controlPlaneBridge); err != nil {
		return err
	}
	if err := run("ip", "link", "set", controlPlaneBridge, "up"); err != nil {
		return err
	}
	for _, n := range nodes {
		cmds := [][]string{
			{"ip", "netns", "add", n.Name},
			{"ip", "link", "add", n.veth, "type", "veth", "peer", "name", "eth0", "netns", n.Name},
			{"ip", "link", "set", n.veth, "master", controlPlaneBridge, "up"},
			{"ip", "-n", n.Name, "addr", "add", n.IP + "/24", "dev", "eth0"},
			{"ip", "-n", n.Name, "link", "set", "eth0", "up"},
			{"ip", "-n", n.Name, "link", "set", "lo", "up"},
			{"ip", "-n", n.Name, "route", "add", "default", "via", controlPlaneIP},
			{"ip", "route", "add", n.PodCIDR, "via", n.IP},
			{"ip", "netns", "exec", n.Name, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
		}
		for _, other := range nodes {
			if other.Name != n.Name {
				cmds = append(cmds, []string{"ip", "-n", n.Name, "route", "add", other.PodCIDR, "via", other.IP})
			}
		}
		for _, cmd := range cmds {
			if err := run(cmd[0], cmd[1:]...); err != nil {
				return fmt.Errorf("node %s: %w", n.Name, err)
			}
		}
		// Bridged pod traffic through the node's iptables (kube-proxy's
		// hairpin rules); absent without br_netfilter, where kube-proxy
		// masquerades all Service traffic anyway.
		_ = run("ip", "netns", "exec", n.Name, "sysctl", "-qw",
			"net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1")
	}
	return run("ip", "route", "add", serviceCIDR, "via", nodes[0].IP, "src", controlPlaneIP)
}

// removeNodeNetwork removes the nodes' namespaces (their links and pod
// bridges go with them), the bridge and the routes (with the bridge).
func removeNodeNetwork() {
	_ = run("ip", "route", "del", serviceCIDR)
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), nodePrefix) {
			_ = run("ip", "netns", "del", e.Name())
		}
	}
	for _, l := range []string{podBridge, controlPlaneBridge} {
		if _, err := net.InterfaceByName(l); err == nil {
			_ = run("ip", "link", "del", l)
		}
	}
}

// cgroupRoot creates the node's cgroup root (its kubelet's pods go below
// it) in every v1 hierarchy; a cpuset gets its parent's CPUs and memory
// nodes, which a new one lacks.
func cgroupRoot(name string) error {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, r := range roots {
		if filepath.Base(r) == "unified" {
			continue
		}
		dir := filepath.Join(r, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if filepath.Base(r) == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				b, err := os.ReadFile(filepath.Join(r, f))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// removeKubeRules removes every iptables chain (and the rules that jump to
// it) that the kubelet, kube-proxy and the CNI plugins made: KUBE-* and CNI-*.
func removeKubeRules() {
	for _, bin := range []string{"iptables", "ip6tables"} {
		out, err := exec.Command(bin + "-save").Output()
		if err != nil {
			continue
		}
		var keep bytes.Buffer
		changed := false
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "KUBE-") || strings.Contains(line, "CNI-") {
				changed = true
				continue
			}
			keep.WriteString(line + "\n")
		}
		if !changed {
			continue
		}
		cmd := exec.Command(bin + "-restore")
		cmd.Stdin = &keep
		_ = cmd.Run()
	}
}

// unmountUnder unmounts every mount point under dir, deepest first.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			points = append(points, f[4])
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		_ = run("umount", "-l", p)
	}
}

// removeCgroups removes the cgroup trees named by pattern (a glob) in
// every v1 hierarchy, children first; the hierarchies stay mounted.
func removeCgroups(pattern string) {
	tops, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", pattern))
	for _, top := range tops {
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	}
}
