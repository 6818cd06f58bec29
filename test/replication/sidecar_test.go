// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package replication

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// fakeClient records its arguments and standard input; asked for the
// replica status it prints FAKE_SLAVE_STATUS, and it answers the questions
// of the divergence check as a primary and a replica that never wrote do.
const fakeClient = `#!/bin/bash
{
  echo "ARGS: $*"
  cat
  echo "--"
} >>"$FAKE_LOG"
case "$*" in
  *"SHOW SLAVE STATUS"*) printf '%s' "${FAKE_SLAVE_STATUS:-}" ;;
  *"SHOW BINARY LOGS"*) printf 'mysql-0-bin.000001\t4\n' ;;
  *gtid_binlog_state* | *gtid_slave_pos* | *BINLOG_GTID_POS*) echo ;;
esac
exit 0
`

// sidecarScript renders the sidecar of a StatefulSet named mysql.
func sidecarScript(t *testing.T, image string) string {
	t.Helper()
	res, err := mutate.DefaultConfig().Inject(plainStatefulSet(image, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	return container(res.StatefulSet.Spec.Template.Spec.Containers, contract.SidecarContainer).Command[2]
}

// runSidecar runs the rendered sidecar once in its own mount namespace, with
// files in its data directory, fake clients, and a backup server that exits
// at once. It returns what the clients were sent, the output and the error.
func runSidecar(t *testing.T, script, hostname string, files map[string]string, env ...string) (sent, output string, data string, err error) {
	t.Helper()
	dir := t.TempDir()
	data = filepath.Join(dir, "data")
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{data, bin, filepath.Join(dir, "conf"), filepath.Join(dir, "helper")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		writeFile(t, filepath.Join(data, name), content)
	}
	for _, name := range []string{"mysql", "mariadb"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(fakeClient), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{filepath.Join(bin, "ncat"), filepath.Join(dir, "helper", "helper")} {
		if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(dir, "sent.log")
	setup := `set -e
mount --bind "$DIR/data" /var/lib/mysql
mount --bind "$DIR/conf" /etc/mysql/conf.d
mount -t tmpfs tmpfs /opt
mkdir -p /opt/mysql-replication/bin
mount --bind "$DIR/helper" /opt/mysql-replication/bin
exec bash -c "$1"`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--", "bash", "-c", setup, "setup", script)
	cmd.Env = append([]string{"PATH=" + bin + ":/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + hostname, "DIR=" + dir, "FAKE_LOG=" + log,
		contract.PodNamespaceEnv + "=default"}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("the sidecar did not finish")
	}
	b, _ := os.ReadFile(log)
	return string(b), out.String(), data, err
}

func TestSidecarReadsEveryPositionFormat(t *testing.T) {
	preflight(t)
	secure := []string{`REPLICATION_PASSWORD=Pa'ss\word`}
	quoted := `MASTER_PASSWORD='Pa''ss\word'`
	tail := `MASTER_HOST='mysql-0.mysql.default.svc.cluster.local.', MASTER_USER='replication', ` + quoted + `, MASTER_CONNECT_RETRY=10;`
	// MariaDB replicates over TLS that verifies the primary.
	tlsTail := strings.TrimSuffix(tail, ";") + `, MASTER_SSL=1, MASTER_SSL_CA='/etc/mysql/tls/ca.crt', MASTER_SSL_VERIFY_SERVER_CERT=1;`
	tests := map[string]struct {
		image    string
		files    map[string]string
		status   string
		wantSent []string
		notSent  []string
		wantErr  string
	}{
		"binlog info of two columns": {
			files:    map[string]string{"xtrabackup_binlog_info": "mysql-bin.000003\t154\n"},
			wantSent: []string{"CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000003', MASTER_LOG_POS=154, " + tail, "START SLAVE;"},
		},
		"binlog info of three columns (GTID)": {
			files:    map[string]string{"xtrabackup_binlog_info": "mysql-0-bin.000001\t1234\t0-100-5\n"},
			wantSent: []string{"CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000001', MASTER_LOG_POS=1234, " + tail},
		},
		"slave info of one statement": {
			files: map[string]string{
				"xtrabackup_slave_info":  "CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000002', MASTER_LOG_POS=99;\n",
				"xtrabackup_binlog_info": "ignored\t1\n",
			},
			wantSent: []string{"CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000002', MASTER_LOG_POS=99, " + tail},
			notSent:  []string{"ignored"},
		},
		"slave info of several statements (GTID)": {
			image:    "mariadb:11.4",
			files:    map[string]string{"xtrabackup_slave_info": "SET GLOBAL gtid_slave_pos = '0-1-5';\nCHANGE MASTER TO master_use_gtid = slave_pos;\n"},
			wantSent: []string{"SET GLOBAL gtid_slave_pos = '0-1-5';\nCHANGE MASTER TO master_use_gtid = slave_pos, " + tlsTail},
		},
		"MariaDB 11 file names": {
			image:    "mariadb:11.4",
			files:    map[string]string{"mariadb_backup_binlog_info": "mariadb-0-bin.000001\t328\t0-100-2\n"},
			wantSent: []string{"SET GLOBAL gtid_slave_pos = '0-100-2';\nCHANGE MASTER TO MASTER_USE_GTID=slave_pos, " + tlsTail},
			notSent:  []string{"MASTER_LOG_FILE"},
		},
		"MariaDB: the backup's GTID position, several domains": {
			image:    "mariadb:10.11",
			files:    map[string]string{"xtrabackup_binlog_info": "mysql-1-bin.000002\t1234\t0-100-5,1-100-7\n"},
			wantSent: []string{"SET GLOBAL gtid_slave_pos = '0-100-5,1-100-7';\nCHANGE MASTER TO MASTER_USE_GTID=slave_pos, " + tlsTail},
		},
		"MariaDB: the GTID position wins over a replica's file and position": {
			image: "mariadb:10.11",
			files: map[string]string{
				"xtrabackup_binlog_info": "mysql-1-bin.000002\t1234\t0-100-9\n",
				"xtrabackup_slave_info":  "CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000002', MASTER_LOG_POS=99;\n",
			},
			wantSent: []string{"SET GLOBAL gtid_slave_pos = '0-100-9';\nCHANGE MASTER TO MASTER_USE_GTID=slave_pos, "},
			notSent:  []string{"MASTER_LOG_FILE"},
		},
		"MariaDB: a primary that has written nothing has no GTID": {
			image:    "mariadb:10.11",
			files:    map[string]string{"xtrabackup_binlog_info": "mysql-0-bin.000001\t328\n"},
			wantSent: []string{"SET GLOBAL gtid_slave_pos = '';\nCHANGE MASTER TO MASTER_USE_GTID=slave_pos, "},
		},
		"MariaDB: a GTID position that is not one": {
			image:   "mariadb:10.11",
			files:   map[string]string{"xtrabackup_binlog_info": "mysql-0-bin.000001\t328\t0-100-5';DROP\n"},
			wantErr: "cannot read a GTID position",
		},
		"empty slave info falls back to the binlog info": {
			files:    map[string]string{"xtrabackup_slave_info": "\n", "xtrabackup_binlog_info": "mysql-bin.000001\t4\n"},
			wantSent: []string{"CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000001', MASTER_LOG_POS=4, " + tail},
		},
		"slave info not ending in CHANGE MASTER": {
			files:   map[string]string{"xtrabackup_slave_info": "SELECT 1;\n"},
			wantErr: "does not end with CHANGE MASTER TO",
		},
		"unreadable binlog info": {
			files:   map[string]string{"xtrabackup_binlog_info": "garbage\n"},
			wantErr: "cannot read a binary log position",
		},
		"already configured": {
			files:   map[string]string{"change_master_to.sql.in": "CHANGE MASTER TO MASTER_LOG_FILE='a', MASTER_LOG_POS=1\n"},
			status:  "*************************** 1. row ***************************\nSlave_IO_State: x\n",
			notSent: []string{"START SLAVE"},
		},
		"nothing to do": {
			notSent: []string{"CHANGE MASTER"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			image := tc.image
			if image == "" {
				image = "mysql:5.7"
			}
			env := append([]string{"FAKE_SLAVE_STATUS=" + tc.status}, secure...)
			sent, out, data, err := runSidecar(t, sidecarScript(t, image), "mysql-1", tc.files, env...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(out, tc.wantErr) {
					t.Fatalf("want a failure saying %q; err %v, output:\n%s", tc.wantErr, err, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, want := range tc.wantSent {
				if !strings.Contains(sent, want) {
					t.Errorf("the clients were not sent %q; they were sent:\n%s", want, sent)
				}
			}
			for _, not := range tc.notSent {
				if strings.Contains(sent, not) {
					t.Errorf("the clients were sent %q:\n%s", not, sent)
				}
			}
			for _, line := range strings.Split(sent, "\n") {
				if strings.HasPrefix(line, "ARGS:") && strings.Contains(line, "Pa'ss") {
					t.Errorf("the password is on a client's command line: %s", line)
				}
			}
			if os.Getenv("SHOW_SENT") != "" {
				t.Logf("sent:\n%s", sent)
			}
			if len(tc.files) > 0 {
				if _, err := os.Stat(filepath.Join(data, "change_master_to.sql.in")); err == nil {
					t.Error("change_master_to.sql.in is left for a second run")
				}
			}
		})
	}
}

// A primary restored from a replica's backup (its data directory holds
// the backup tool's position files) replicates from no one: pod 0 never
// points itself at anything.
func TestSidecarOnThePrimaryIgnoresABackupsPosition(t *testing.T) {
	preflight(t)
	for _, image := range []string{"mysql:5.7", "mariadb:11.4"} {
		sent, out, data, err := runSidecar(t, sidecarScript(t, image), "mysql-0",
			map[string]string{"xtrabackup_binlog_info": "mysql-bin.000003\t154\n"}, "REPLICATION_PASSWORD=secret-x")
		if err != nil {
			t.Fatalf("%s: %v\n%s", image, err, out)
		}
		if strings.Contains(sent, "MASTER_LOG_FILE") || strings.Contains(sent, "START SLAVE") {
			t.Errorf("%s: the primary was pointed at a source:\n%s", image, sent)
		}
		if _, err := os.Stat(filepath.Join(data, "change_master_to.sql.in")); err == nil {
			t.Errorf("%s: the position is left for a later start", image)
		}
	}
}

func TestSidecarCreatesTheReplicationUserOnThePrimary(t *testing.T) {
	preflight(t)
	sent, out, _, err := runSidecar(t, sidecarScript(t, "mysql:5.7"), "mysql-0", nil, "REPLICATION_PASSWORD=secret-x")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"CREATE USER IF NOT EXISTS 'replication'@'%' IDENTIFIED BY 'secret-x';",
		"GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'replication'@'%';",
	} {
		if !strings.Contains(sent, want) {
			t.Errorf("not sent %q:\n%s", want, sent)
		}
	}
	for _, line := range strings.Split(sent, "\n") {
		if strings.HasPrefix(line, "ARGS:") && strings.Contains(line, "secret-x") {
			t.Errorf("the password is on a command line: %s", line)
		}
	}
	if strings.Contains(out, "secret-x") {
		t.Error("the password is in the sidecar's output")
	}
}
