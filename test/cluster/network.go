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
// the node's address on a bridge of its own, the pods on the CNI bridge, the
// Services routed to the node bridge.
const (
	clusterRange = "10.250.0.0/16"
	nodeIP       = "10.250.0.1"
	nodeBridge   = "mrwnode0"
	podCIDR      = "10.250.1.0/24"
	podGateway   = "10.250.1.1"
	podBridge    = "mrwcni0"
	serviceCIDR  = "10.250.2.0/24"
	apiServiceIP = "10.250.2.1"
	guardChain   = "MRW-E2E-GUARD"
	nodeName     = "e2e-node"
)

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

// sysctls the cluster needs, with the values they had, to restore.
var sysctls = map[string]string{
	"net/ipv4/ip_forward":                 "1",
	"net/bridge/bridge-nf-call-iptables":  "1",
	"net/bridge/bridge-nf-call-ip6tables": "1",
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

// nodeNetwork puts the node's address on a bridge of its own and routes the
// Service range there, so the API server reaches Services (admission
// webhooks) from the node's address.
func nodeNetwork() error {
	if err := run("ip", "link", "add", nodeBridge, "type", "bridge"); err != nil {
		return err
	}
	if err := run("ip", "addr", "add", nodeIP+"/24", "dev", nodeBridge); err != nil {
		return err
	}
	if err := run("ip", "link", "set", nodeBridge, "up"); err != nil {
		return err
	}
	return run("ip", "route", "add", serviceCIDR, "dev", nodeBridge, "src", nodeIP)
}

func removeNodeNetwork() {
	_ = run("ip", "route", "del", serviceCIDR)
	for _, l := range []string{podBridge, nodeBridge} {
		if _, err := net.InterfaceByName(l); err == nil {
			_ = run("ip", "link", "del", l)
		}
	}
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

// removeCgroups removes the kubelet's cgroup tree (kubepods) in every v1
// hierarchy, children first; the hierarchies themselves stay mounted.
func removeCgroups(name string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, r := range roots {
		top := filepath.Join(r, name)
		if _, err := os.Stat(top); err != nil {
			continue
		}
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
