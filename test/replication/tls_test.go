// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package replication

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/profile"
)

// Every connection between pods is TLS that verifies the peer against the
// StatefulSet's authority, for the fully qualified name dialled: a replica
// replicates with verification on, and neither replication nor a clone
// takes a server whose certificate another authority signed.
func TestTLSBetweenPodsVerifiesTheAuthority(t *testing.T) {
	preflight(t)
	helper := buildHelper(t)
	for _, f := range []flavor{
		{name: "mysql-9.7", image: "mysql:9.7", secure: true, root: "mysql-9", nonRoot: true},
		{name: "mariadb", image: "mariadb:10.11", secure: true},
	} {
		t.Run(f.name, func(t *testing.T) {
			s := newScenario(t, f, helper)
			if !s.prof.TLS {
				t.Fatalf("profile %s serves no TLS", s.prof.Name)
			}
			ssl, verify := "Source_SSL_Allowed: Yes", "Source_SSL_Verify_Server_Cert: Yes"
			reload := "ALTER INSTANCE RELOAD TLS"
			if s.prof.Family == profile.MariaDB {
				ssl, verify, reload = "Master_SSL_Allowed: Yes", "Master_SSL_Verify_Server_Cert: Yes", "FLUSH SSL"
			}

			p0 := s.startPod(0)
			p1 := s.startPod(1)
			s.waitReplicating(p1)
			status := s.slaveStatus(p1)
			if !strings.Contains(status, ssl) || !strings.Contains(status, verify) {
				t.Fatalf("replication without verified TLS:\n%s", status)
			}
			// MySQL's replica retries an absent primary for ten days, not the
			// 10 attempts (100 s) MySQL 8.0 and later default to: a longer
			// restart or a recovery of the primary stopped replication.
			if s.prof.Replication.RetryCount != "" {
				if got := s.root(p1, "SELECT CONNECTION_RETRY_COUNT FROM performance_schema.replication_connection_configuration"); !strings.Contains(got, "86400") {
					t.Errorf("the replica retries its primary %q times, not 86400", got)
				}
			}

			// The primary now presents a certificate of another authority,
			// for the same names, as a renewal writes it into the pod: MySQL's
			// sidecar has the server take it, MariaDB's server takes it at
			// FLUSH SSL. The replica's next connection refuses it.
			p0.setTLS(s.tlsFiles(newAuthority(t)))
			if s.prof.Family == profile.MariaDB {
				s.root(p0, reload)
			} else {
				s.eventually("the primary's sidecar reloads TLS", 3*time.Minute, func() (bool, string) {
					logs := s.sidecarLogs(p0)
					return strings.Contains(logs, "the server took the renewed certificate"), logs
				})
			}
			s.root(p1, s.prof.Replication.Stop+"; "+s.prof.Replication.Start)
			s.eventually(p1.name+" refuses the primary", 2*time.Minute, func() (bool, string) {
				st := s.slaveStatus(p1)
				return strings.Contains(st, "SSL") && strings.Contains(st, "rror"), st
			})

			// A new pod cloning from a server of another authority gets
			// nothing: pod 2 clones pod 1, which now presents one too.
			p1.setTLS(s.tlsFiles(newAuthority(t)))
			s.root(p1, reload)
			p2 := s.r.addPod(2)
			s.pods[2] = p2
			// Neither it nor the primary can be the donor: clone-mysql
			// waits for one, and clones nothing.
			cloneOut, cloneErr := s.runInitContainersFor(p2, 30*time.Second)
			if cloneErr == nil || !strings.Contains(cloneOut, "no pod can be the donor yet") {
				t.Fatalf("pod 2 cloned a server of another authority (%v):\n%s", cloneErr, cloneOut)
			}
			if entries := s.readDir(p2, "volume/mysql"); len(entries) != 0 {
				t.Errorf("a refused clone left %v in the data directory", entries)
			}
			t.Logf("the clone was refused: %s", lastLine(cloneOut))
		})
	}
}

// sidecarLogs is what pod p's sidecars wrote.
func (s *scenario) sidecarLogs(p *pod) string {
	logs, _ := filepath.Glob(filepath.Join(p.dir, "logs", "sidecar.*.log"))
	var all strings.Builder
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		all.Write(b)
	}
	return all.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
