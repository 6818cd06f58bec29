// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package status

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/profile"
)

func TestParse(t *testing.T) {
	lag := func(n int) *int { return &n }
	tests := map[string]struct {
		prof profile.Profile
		role string
		text string
		want Pod
	}{
		"a MySQL primary": {
			prof: profile.MySQL8, role: contract.RolePrimary,
			text: "refused: \nversion: 9.7.4\ntransactions: 3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77,\n",
			want: Pod{Version: "9.7.4", Transactions: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77,"},
		},
		"a MySQL replica with its SQL thread stopped by an error": {
			prof: profile.MySQL8, role: contract.RoleReplica,
			text: "refused: \nversion: 9.7.4\ntransactions: 3e11fa47-71ca-11e1-9e33-c80aa9429562:1-70\n" +
				"*************************** 1. row ***************************\n" +
				"             Replica_IO_State: Waiting for source to send event\n" +
				"           Replica_IO_Running: Yes\n          Replica_SQL_Running: No\n" +
				"        Seconds_Behind_Source: NULL\n                Last_IO_Error: \n" +
				"               Last_SQL_Error: Error 'Duplicate entry '1' for key 't.PRIMARY'' on query: INSERT\n",
			want: Pod{Version: "9.7.4", Transactions: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-70", IOThread: "Yes", SQLThread: "No",
				LastError: "Error 'Duplicate entry '1' for key 't.PRIMARY'' on query: INSERT"},
		},
		"a MariaDB replica behind": {
			prof: profile.MariaDBProfile, role: contract.RoleReplica,
			text: "refused: \nversion: 10.11.19-MariaDB-log\ntransactions: 0-100-4021\n" +
				"Slave_IO_Running: Yes\nSlave_SQL_Running: Yes\nSeconds_Behind_Master: 12\nLast_IO_Error: \nLast_SQL_Error: \n",
			want: Pod{Version: "10.11.19-MariaDB-log", Transactions: "0-100-4021", IOThread: "Yes", SQLThread: "Yes", LagSeconds: lag(12)},
		},
		"a replica its sidecar refused": {
			prof: profile.MariaDBProfile, role: contract.RoleReplica,
			text: "refused: this replica has transactions the primary lacks (0-102-1).\nversion: 11.8.3-MariaDB\ntransactions: 0-100-9,0-102-1\n" +
				"Slave_IO_Running: No\nSlave_SQL_Running: No\nSeconds_Behind_Master: NULL\nLast_IO_Error: \nLast_SQL_Error: \n",
			want: Pod{Version: "11.8.3-MariaDB", Transactions: "0-100-9,0-102-1", IOThread: "No", SQLThread: "No",
				LastError: "this replica has transactions the primary lacks (0-102-1)."},
		},
		"a replica not configured yet": {
			prof: profile.MySQL8, role: contract.RoleReplica,
			text: "refused: \nversion: 8.4.6\ntransactions: \n",
			want: Pod{Version: "8.4.6", IOThread: "-", SQLThread: "-", LastError: "replication is not configured"},
		},
		"a MySQL 5.7 primary and its binary log": {
			prof: profile.MySQL57, role: contract.RolePrimary,
			text: "refused: \nversion: 5.7.44-log\n*************************** 1. row ***************************\n             File: mysql-0-bin.000003\n         Position: 154\n",
			want: Pod{Version: "5.7.44-log", Transactions: "mysql-0-bin.000003:154"},
		},
		"a MySQL 5.7 replica and the position it applied": {
			prof: profile.MySQL57, role: contract.RoleReplica,
			text: "refused: \nversion: 5.7.44-log\nSlave_IO_Running: Connecting\nSlave_SQL_Running: Yes\nSeconds_Behind_Master: NULL\n" +
				"Relay_Master_Log_File: mysql-0-bin.000003\nExec_Master_Log_Pos: 154\nLast_IO_Error: error connecting to master 'root@mysql-0.mysql:3306' - retry-time: 10\nLast_SQL_Error: \n",
			want: Pod{Version: "5.7.44-log", Transactions: "mysql-0-bin.000003:154", IOThread: "Connecting", SQLThread: "Yes",
				LastError: "error connecting to master 'root@mysql-0.mysql:3306' - retry-time: 10"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Pod{Role: tc.role}
			Parse(tc.prof, tc.text, &got)
			tc.want.Role = tc.role
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(tc.want)
			if !bytes.Equal(a, b) {
				t.Errorf("got  %s\nwant %s", a, b)
			}
		})
	}
}

func TestQueryAsksWhatTheProfileHas(t *testing.T) {
	for _, tc := range []struct {
		prof       profile.Profile
		role, want string
		not        string
	}{
		{profile.MySQL8, contract.RolePrimary, "gtid_executed", "SHOW REPLICA STATUS"},
		{profile.MySQL8, contract.RoleReplica, "SHOW REPLICA STATUS;", "SHOW MASTER"},
		{profile.MariaDBProfile, contract.RoleReplica, "gtid_current_pos", "SHOW MASTER"},
		{profile.MySQL57, contract.RolePrimary, "SHOW MASTER STATUS;", "gtid"},
	} {
		q := Query(tc.prof, tc.role)
		if !strings.Contains(q, tc.want) || strings.Contains(q, tc.not) {
			t.Errorf("%s %s: %q", tc.prof.Name, tc.role, q)
		}
	}
}

func TestTable(t *testing.T) {
	lag := 3
	var b bytes.Buffer
	if err := Table(&b, []Pod{
		{Name: "mysql-0", Role: "primary", Ready: true, Version: "9.7.4", Transactions: "u:1-9", Clone: "ordinal 0 is the primary; nothing to clone"},
		{Name: "mysql-1", Role: "replica", Version: "9.7.4", IOThread: "Yes", SQLThread: "No", LagSeconds: &lag, LastError: "stopped"},
		{Name: "mysql-2", Role: "replica", Unreachable: "pod pending"},
	}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "POD") || !strings.Contains(lines[2], "3s") ||
		!strings.Contains(lines[3], "cannot ask the server: pod pending") {
		t.Errorf("table:\n%s", b.String())
	}
}
