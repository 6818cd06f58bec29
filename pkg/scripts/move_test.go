// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package scripts

import (
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMoveRootData runs clone-mysql's move of a data directory found at
// the volume's root into its directory mysql, from every state a start
// cut off can leave behind: each ends in the same layout, with every file
// as it was; a volume already laid out is left alone; an entry that would
// be moved over another stops the move with a message.
func TestMoveRootData(t *testing.T) {
	var snippet strings.Builder
	if err := templates.ExecuteTemplate(&snippet, "move-root-data", values{contractNames: podContract}); err != nil {
		t.Fatal(err)
	}
	// A MySQL 8+ data directory and a MariaDB one, each with its own mysql
	// schema directory, a database, hidden and directory entries.
	mysql := map[string]string{
		"ibdata1": "system", "mysql.ibd": "dictionary", "auto.cnf": "uuid", "binlog.000001": "events", "binlog.index": "./binlog.000001",
		"#innodb_redo/#ib_redo1": "redo", "mysql/general_log.CSV": "", "shop/orders.ibd": "rows", ".hidden": "dot",
	}
	mariadb := map[string]string{
		"ibdata1": "system", "aria_log_control": "aria", "mysql/db.frm": "frm", "mysql/user.MAD": "users", "shop/orders.ibd": "rows",
	}
	under := func(dir string, files map[string]string) map[string]string {
		out := map[string]string{}
		for name, content := range files {
			out[dir+"/"+name] = content
		}
		return out
	}
	// partly moves the entries named into .moving, as a start cut off
	// after those renames leaves them.
	partly := func(files map[string]string, moved ...string) map[string]string {
		out := map[string]string{}
		for name, content := range files {
			top, _, _ := strings.Cut(name, "/")
			for _, m := range moved {
				if top == m {
					name = ".moving/" + name
				}
			}
			out[name] = content
		}
		return out
	}
	lostFound := map[string]string{"lost+found/#12": "fsck"}
	with := func(a, b map[string]string) map[string]string {
		out := maps.Clone(a)
		maps.Copy(out, b)
		return out
	}
	tests := map[string]struct {
		volume, want map[string]string
		wantErr      string
	}{
		"MySQL at the root":                  {volume: with(mysql, lostFound), want: with(under("mysql", mysql), lostFound)},
		"MariaDB at the root":                {volume: mariadb, want: under("mysql", mariadb)},
		"cut off after some renames":         {volume: partly(mysql, "ibdata1", "mysql", ".hidden"), want: under("mysql", mysql)},
		"cut off before the last rename":     {volume: under(".moving", mysql), want: under("mysql", mysql)},
		"cut off after the first mkdir":      {volume: with(mysql, map[string]string{".moving/": ""}), want: under("mysql", mysql)},
		"moved already":                      {volume: with(under("mysql", mysql), lostFound), want: with(under("mysql", mysql), lostFound)},
		"a replica's staged clone":           {volume: with(under("mysql", mariadb), map[string]string{".clone/data/ibdata1": "x"}), want: with(under("mysql", mariadb), map[string]string{".clone/data/ibdata1": "x"})},
		"an empty volume":                    {volume: map[string]string{}, want: map[string]string{}},
		"an entry on both sides of the move": {volume: with(mysql, map[string]string{".moving/ibdata1": "other"}), wantErr: "both "},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			volume := t.TempDir()
			writeTree(t, volume, tc.volume)
			// The data directory keeps the mode of the root it was.
			if err := os.Chmod(volume, 0o711); err != nil {
				t.Fatal(err)
			}
			script := "set -euo pipefail\nvolume=" + volume + "\ndata=$volume/mysql\n" + snippet.String() + "\n"
			cmd := exec.Command("bash", "-c", script)
			cmd.Env = []string{"PATH=/usr/bin:/bin"}
			out, err := cmd.CombinedOutput()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(string(out), tc.wantErr) {
					t.Fatalf("want a refusal saying %q, got %v: %s", tc.wantErr, err, out)
				}
				if got := readTree(t, volume); len(got) != len(tc.volume) {
					t.Errorf("files lost or added on a refusal: %v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got := readTree(t, volume); !maps.Equal(got, tc.want) {
				t.Errorf("volume after the move:\n got %v\nwant %v\n%s", got, tc.want, out)
			}
			if st, err := os.Stat(filepath.Join(volume, "mysql")); strings.Contains(string(out), "moving it") && (err != nil || st.Mode().Perm() != 0o711) {
				t.Errorf("the data directory's mode: %v, %v", st, err)
			}
			// Starting again changes nothing.
			if out, err := exec.Command("bash", "-c", script).CombinedOutput(); err != nil || len(out) != 0 {
				t.Errorf("a second start: %v: %s", err, out)
			}
			if got := readTree(t, volume); !maps.Equal(got, tc.want) {
				t.Errorf("a second start changed the volume: %v", got)
			}
		})
	}
}

// writeTree creates files (name: content) under dir; a name ending in /
// is an empty directory.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(path, 0o750); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree lists the regular files under dir with their content.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
