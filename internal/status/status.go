// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package status reads the state of a replicated StatefulSet from its
// pods: role, readiness, server version, transactions, lag, replication
// threads, the last error and the clone, one line per pod.
package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/profile"
)

// Pod is the state of one pod.
type Pod struct {
	Name  string `json:"name"`
	Role  string `json:"role"`
	Ready bool   `json:"ready"`
	// Version is the server's; Transactions its executed GTID set (MySQL),
	// its current GTID position (MariaDB), or its binary log file and
	// position (MySQL 5.7).
	Version      string `json:"version,omitempty"`
	Transactions string `json:"transactions,omitempty"`
	// LagSeconds is how far behind its primary a replica applies (absent
	// when the server cannot tell: a thread stopped).
	LagSeconds *int `json:"lagSeconds,omitempty"`
	// IOThread and SQLThread are a replica's replication threads.
	IOThread  string `json:"ioThread,omitempty"`
	SQLThread string `json:"sqlThread,omitempty"`
	// LastError is the last replication error, or why the sidecar refused
	// to replicate.
	LastError string `json:"lastError,omitempty"`
	// Clone is what clone-mysql said last.
	Clone string `json:"clone,omitempty"`
	// Unreachable says why the pod's server could not be asked.
	Unreachable string `json:"unreachable,omitempty"`
}

// Exec runs command with stdin in a container of a pod and returns its
// standard output.
type Exec func(ctx context.Context, namespace, pod, container, stdin string, command ...string) (string, error)

// Log returns the last line of a container's log.
type Log func(ctx context.Context, namespace, pod, container string) (string, error)

// Collect reads the state of every pod of StatefulSet key.
func Collect(ctx context.Context, c client.Client, exec Exec, log Log, key types.NamespacedName) ([]Pod, error) {
	var sts appsv1.StatefulSet
	if err := c.Get(ctx, key, &sts); err != nil {
		return nil, fmt.Errorf("reading StatefulSet %s: %w", key, err)
	}
	if !mutate.Enabled(&sts) {
		return nil, fmt.Errorf("StatefulSet %s is not labeled %s=%s", key, contract.EnabledLabel, contract.EnabledValue)
	}
	prof, err := mutate.StatefulSetProfile(&sts)
	if err != nil {
		return nil, err
	}
	selector, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("StatefulSet %s: %w", key, err)
	}
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(key.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, fmt.Errorf("listing the pods of StatefulSet %s: %w", key, err)
	}
	db := sts.Spec.Template.Spec.Containers[0].Name
	var out []Pod
	for _, pod := range pods.Items {
		role, _ := mutate.PodRole(&pod)
		if role == "" {
			continue
		}
		p := Pod{Name: pod.Name, Role: role, Ready: mutate.PodReady(&pod)}
		if line, err := log(ctx, key.Namespace, pod.Name, contract.CloneMySQLContainer); err == nil {
			p.Clone = strings.TrimPrefix(strings.TrimSpace(line), contract.CloneMySQLContainer+": ")
		}
		if pod.Status.Phase != corev1.PodRunning {
			p.Unreachable = "pod " + strings.ToLower(string(pod.Status.Phase))
		} else if text, err := exec(ctx, key.Namespace, pod.Name, db, Query(prof, role), "bash", "-c", askScript(prof)); err != nil {
			p.Unreachable = strings.TrimSpace(err.Error())
		} else {
			Parse(prof, text, &p)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Pod) int { return ordinal(a.Name) - ordinal(b.Name) })
	return out, nil
}

// askScript runs the client in the database container with the root
// credentials init-mysql wrote (the tutorial's root without them), after
// printing why the sidecar refused to replicate, if it did.
func askScript(prof profile.Profile) string {
	return fmt.Sprintf(`printf 'refused: %%s\n' "$(cat %s/%s 2>/dev/null | head -c 2000)"
if [[ -f %s ]]; then auth=(--defaults-extra-file=%s); else auth=(--user=root); fi
exec %s "${auth[@]}" -h 127.0.0.1 --batch --vertical`,
		contract.DataDir, contract.RefusedMarker, contract.ClientOptionFile, contract.ClientOptionFile, prof.Client)
}

// Query is what the client is asked, on its standard input.
func Query(prof profile.Profile, role string) string {
	rep := prof.Replication
	var q strings.Builder
	// The client prints every answer one field a line, with its name
	// (--vertical: MySQL 9's client runs no \G read from a file).
	q.WriteString("SELECT @@version AS version;\n")
	switch {
	case rep.GTID:
		q.WriteString("SELECT REPLACE(@@GLOBAL.gtid_executed, '\\n', '') AS transactions;\n")
	case rep.SlavePos:
		q.WriteString("SELECT @@GLOBAL.gtid_current_pos AS transactions;\n")
	case role == contract.RolePrimary:
		q.WriteString("SHOW MASTER STATUS;\n")
	}
	if role == contract.RoleReplica {
		q.WriteString(rep.Status + ";\n")
	}
	return q.String()
}

// Parse reads what the client printed for Query into p.
func Parse(prof profile.Profile, text string, p *Pod) {
	rep := prof.Replication
	fields := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && !strings.HasPrefix(name, "*") {
			if _, seen := fields[name]; !seen {
				fields[name] = strings.TrimSpace(value)
			}
		}
	}
	p.Version = fields["version"]
	p.Transactions = fields["transactions"]
	if file := fields["File"]; file != "" {
		p.Transactions = file + ":" + fields["Position"]
	}
	if p.Role != contract.RoleReplica {
		return
	}
	p.IOThread, p.SQLThread = fields[rep.IORunning], fields[rep.SQLRunning]
	if p.IOThread == "" && p.SQLThread == "" {
		p.IOThread, p.SQLThread = "-", "-"
		p.LastError = "replication is not configured"
	}
	if lag, err := strconv.Atoi(fields[rep.Lag]); err == nil {
		p.LagSeconds = &lag
	}
	if p.Transactions == "" && fields["Relay_Master_Log_File"] != "" {
		p.Transactions = fields["Relay_Master_Log_File"] + ":" + fields["Exec_Master_Log_Pos"]
	}
	for _, e := range []string{fields["Last_SQL_Error"], fields["Last_IO_Error"], fields["refused"]} {
		if e != "" {
			p.LastError = e
			break
		}
	}
}

// Table writes one line per pod.
func Table(w io.Writer, pods []Pod) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POD\tROLE\tREADY\tVERSION\tTRANSACTIONS\tLAG\tIO\tSQL\tLAST ERROR\tCLONE")
	for _, p := range pods {
		lag := "-"
		if p.LagSeconds != nil {
			lag = strconv.Itoa(*p.LagSeconds) + "s"
		}
		last := p.LastError
		if p.Unreachable != "" {
			last = "cannot ask the server: " + p.Unreachable
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Role, p.Ready, dash(p.Version), dash(short(p.Transactions, 60)),
			lag, dash(p.IOThread), dash(p.SQLThread), dash(short(last, 80)), dash(short(p.Clone, 80)))
	}
	return tw.Flush()
}

// JSON writes the pods as a JSON array.
func JSON(w io.Writer, pods []Pod) error {
	if pods == nil {
		pods = []Pod{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(pods)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func ordinal(name string) int {
	i := strings.LastIndex(name, "-")
	n, _ := strconv.Atoi(name[i+1:])
	return n
}
