// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// TestReadinessWaitsForAFreshReplica runs the readiness probe of a replica
// against a stand-in client: a server that has just started and has no
// replication configured yet is given a moment for its sidecar to
// configure it, and is ready once it has; a server up for longer, or one
// whose replication is still not configured after that moment, is not.
func TestReadinessWaitsForAFreshReplica(t *testing.T) {
	tests := map[string]struct {
		uptime      string
		configureIn time.Duration // 0: never
		ready       bool
		says        string
		// asked is how many times the status is asked for: 16 is once and
		// 15 more times over 3 s.
		asked int
	}{
		"just started, configured a moment later": {uptime: "2", configureIn: 300 * time.Millisecond, ready: true},
		"just started, never configured":          {uptime: "2", says: "replication is not configured", asked: 16},
		"up for a minute, not configured":         {uptime: "60", says: "replication is not configured", asked: 1},
		"uptime unreadable, not configured":       {uptime: "", says: "replication is not configured", asked: 1},
	}
	for _, prof := range profiles {
		script, err := Render(Readiness, Params{StatefulSet: "db", Service: "db", ClusterDomain: "cluster.local", Profile: prof, Credentials: true})
		if err != nil {
			t.Fatal(err)
		}
		rep := prof.Replication
		for name, tc := range tests {
			t.Run(prof.Name+"/"+name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				bin := filepath.Join(dir, "bin")
				configured := filepath.Join(dir, "configured")
				status := rep.IORunning + ": Yes\n" + rep.SQLRunning + ": Yes\n" + rep.Lag + ": 0\nLast_IO_Error: \nLast_SQL_Error: \n"
				// The stand-in answers the uptime query, and the status
				// query with the status once the sidecar configured it.
				asked := filepath.Join(dir, "asked")
				client := "#!/bin/bash\n" +
					"if [[ $* == *Uptime* ]]; then printf 'Uptime\\t%s\\n' \"$UPTIME\"; exit 0; fi\n" +
					"echo >>" + asked + "\n" +
					"if [[ -e " + configured + " ]]; then printf '%s' \"$STATUS\"; fi\n"
				writeTree(t, bin, map[string]string{"mysql": client, "mariadb": client})
				for _, name := range []string{"mysql", "mariadb"} {
					if err := os.Chmod(filepath.Join(bin, name), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				cmd := exec.Command("bash", "-c", script)
				cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), contract.PodIndexEnv+"=1", "UPTIME="+tc.uptime, "STATUS="+status)
				if tc.configureIn > 0 {
					time.AfterFunc(tc.configureIn, func() { _ = os.WriteFile(configured, nil, 0o644) })
				}
				out, err := cmd.CombinedOutput()
				if ready := err == nil; ready != tc.ready || !strings.Contains(string(out), tc.says) {
					t.Fatalf("ready %v (%v), want %v saying %q:\n%s", ready, err, tc.ready, tc.says, out)
				}
				calls, err := os.ReadFile(asked)
				if err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(string(calls), "\n"); tc.asked > 0 && n != tc.asked {
					t.Errorf("the status was asked for %d times, want %d", n, tc.asked)
				}
			})
		}
	}
}
