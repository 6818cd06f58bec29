// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package scripts

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/profile"
)

var profiles = profile.Profiles()

// variants are every profile with and without credentials, and with
// credentials and metrics.
func variants(name, service string) []Params {
	var out []Params
	for _, prof := range profiles {
		out = append(out,
			Params{StatefulSet: name, Service: service, ClusterDomain: "cluster.local", Profile: prof},
			Params{StatefulSet: name, Service: service, ClusterDomain: "cluster.local", Profile: prof, Credentials: true},
			Params{StatefulSet: name, Service: service, ClusterDomain: "cluster.local", Profile: prof, Credentials: true, Metrics: true})
	}
	return out
}

func renderAll(t *testing.T, p Params) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range Names() {
		s, err := Render(name, p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = s
	}
	return out
}

// Pods name each other by fully qualified names with a trailing dot, from
// the StatefulSet's names, the pod's namespace and the cluster domain: a
// shorter name goes through the resolver's search list, where another
// namespace can answer for it. Every rendered script names pods through
// pod_host alone.
func TestRenderedHostNamesAreFullyQualified(t *testing.T) {
	podName := regexp.MustCompile(`orders-db-[0-9$]`)
	for _, p := range variants("orders-db", "orders") {
		p.ClusterDomain = "example.internal"
		f := p.Profile.Name
		got := renderAll(t, p)
		source := `source_host=$(pod_host $((ordinal - 1)))`
		if p.Profile.Replication.ChecksDivergence() {
			// The donor is chosen among pods named by pod_host.
			source = `host=$(pod_host "$candidate")`
		}
		if !strings.Contains(got[CloneMySQL], source) || !strings.Contains(got[CloneMySQL], `primary_host=$(pod_host 0)`) && source != `source_host=$(pod_host $((ordinal - 1)))` {
			t.Errorf("%s: the clone source is not named by pod_host:\n%s", f, got[CloneMySQL])
		}
		if !strings.Contains(got[Sidecar], `primary_host=$(pod_host 0)`) {
			t.Errorf("%s: the primary is not named by pod_host", f)
		}
		for name, s := range got {
			if strings.Contains(s, "{{") {
				t.Errorf("%s/%s: unrendered template", f, name)
			}
			for _, line := range strings.Split(s, "\n") {
				if podName.MatchString(line) && !strings.Contains(line, `printf '%s' "orders-db-$1.orders.$namespace.svc.example.internal."`) {
					t.Errorf("%s/%s names a pod other than through pod_host: %s", f, name, line)
				}
			}
		}
	}

	var snippet strings.Builder
	v, err := Params{StatefulSet: "orders-db", Service: "orders", ClusterDomain: "example.internal", Profile: profile.MySQL8}.values(podContract)
	if err != nil {
		t.Fatal(err)
	}
	if err := templates.ExecuteTemplate(&snippet, "pod-host", v.Peers("test")); err != nil {
		t.Fatal(err)
	}
	script := snippet.String() + "\npod_host 0; echo; pod_host 12\n"
	for namespace, want := range map[string]string{
		"shop":    "orders-db-0.orders.shop.svc.example.internal.\norders-db-12.orders.shop.svc.example.internal.",
		"":        "test: cannot read the pod's namespace from POD_NAMESPACE ''",
		"a;b":     "test: cannot read the pod's namespace from POD_NAMESPACE 'a;b'",
		"Shop":    "test: cannot read the pod's namespace",
		"shop.io": "test: cannot read the pod's namespace",
	} {
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = []string{"PATH=/usr/bin:/bin", contract.PodNamespaceEnv + "=" + namespace}
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, want) || (err == nil) != strings.HasPrefix(want, "orders") {
			t.Errorf("namespace %q: %q (%v), want %q", namespace, got, err, want)
		}
	}
}

func TestRenderRejectsUnsafeNames(t *testing.T) {
	for _, p := range []Params{
		{StatefulSet: "a'b", Service: "s", Profile: profile.MySQL57, ClusterDomain: "cluster.local"},
		{StatefulSet: "a", Service: "$(reboot)", Profile: profile.MySQL57, ClusterDomain: "cluster.local"},
		{StatefulSet: "A", Service: "s", Profile: profile.MySQL57, ClusterDomain: "cluster.local"},
		{StatefulSet: "", Service: "s", Profile: profile.MySQL57, ClusterDomain: "cluster.local"},
		{StatefulSet: "a", Service: "s"},
		{StatefulSet: "a", Service: "s", Profile: profile.MySQL57, ClusterDomain: "cluster.local;reboot"},
		{StatefulSet: "a", Service: "s", Profile: profile.MySQL57},
	} {
		if _, err := Render(Sidecar, p); err == nil {
			t.Errorf("%+v: rendered", p)
		}
	}
}

// Kubernetes expands $(VAR) in a container's command and turns $$ into $;
// the scripts must come through that unchanged.
func TestScriptsSurviveKubernetesExpansion(t *testing.T) {
	reference := regexp.MustCompile(`\$\([A-Za-z_][A-Za-z0-9_]*\)`)
	for _, p := range variants("mysql", "mysql") {
		f := p.Profile.Name
		for name, s := range renderAll(t, p) {
			if strings.Contains(s, "$$") {
				t.Errorf("%s/%s contains $$", f, name)
			}
			if m := reference.FindString(s); m != "" {
				t.Errorf("%s/%s contains %s, which Kubernetes would expand", f, name, m)
			}
		}
	}
}

func TestShellcheck(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("shellcheck is not installed (make test installs it)")
		}
		t.Skip("SKIPPED: shellcheck is not installed; make test installs it")
	}
	for _, p := range variants("mysql", "mysql") {
		f := p.Profile.Name
		for name, s := range renderAll(t, p) {
			cmd := exec.Command(shellcheck, "--shell=bash", "--severity=style", "-")
			cmd.Stdin = strings.NewReader(s)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s (%s): %v\n%s", name, f, err, out)
			}
		}
	}
}

func TestCredentialsStayOffCommandLines(t *testing.T) {
	for _, prof := range profiles {
		f := prof.Name
		got := renderAll(t, Params{StatefulSet: "db", Service: "db", ClusterDomain: "cluster.local", Profile: prof, Credentials: true})
		user := prof.Replication.User
		if strings.Contains(got[Sidecar], "--user=root") || strings.Contains(got[Sidecar], user+"='root'") {
			t.Errorf("%s: the sidecar still uses root without a password", f)
		}
		if !strings.Contains(got[Sidecar], user+"='replication'") || !strings.Contains(got[InitMySQL], "client.opt") {
			t.Errorf("%s: credentials not used", f)
		}
		switch prof.Clone {
		case profile.CloneBackupStream:
			if !strings.Contains(got[Sidecar], "--defaults-extra-file="+contract.ClientOptionFile+" --backup") {
				t.Errorf("%s: the backup does not read the option file first", f)
			}
		case profile.ClonePlugin:
			if !strings.Contains(got[CloneMySQL], "CLONE INSTANCE FROM '$clone_user'") || !strings.Contains(got[CloneMySQL], "clone_user=clone") ||
				!strings.Contains(got[CloneMySQL], "<<SQL") {
				t.Errorf("%s: the clone does not authenticate as the clone user through standard input", f)
			}
		}
	}
	// The users are written into SQL strings and option values as they are.
	for _, user := range []string{contract.ReplicationUser, contract.CloneUser} {
		if !dnsName.MatchString(user) {
			t.Errorf("user %q is not a plain name", user)
		}
	}
}

// Render remembers what it rendered: the answer is the same as rendering
// afresh, from any number of goroutines, and the memory stays bounded.
func TestRenderRemembers(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < renderedLimit/4; i++ {
				p := Params{StatefulSet: fmt.Sprintf("db-%d", i), Service: "db", ClusterDomain: "cluster.local", Profile: profiles[i%len(profiles)]}
				for _, name := range Names() {
					got, err := Render(name, p)
					if err != nil {
						t.Error(err)
						return
					}
					want, err := render(name, p)
					if err != nil || got != want {
						t.Errorf("%s for %+v differs from a fresh render (%v)", name, p, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	rendered.Lock()
	defer rendered.Unlock()
	if n := len(rendered.scripts); n > renderedLimit {
		t.Errorf("%d scripts remembered, limit %d", n, renderedLimit)
	}
}

// The ordinal comes from POD_INDEX (the pod-index label); the pod name in
// $HOSTNAME counts only where the label is absent, and anything else stops
// the script.
func TestOrdinal(t *testing.T) {
	var snippet strings.Builder
	if err := templates.ExecuteTemplate(&snippet, "ordinal", values{contractNames: podContract}.Ordinal("test")); err != nil {
		t.Fatal(err)
	}
	script := snippet.String() + "\necho \"$ordinal\"\n"
	tests := map[string]struct {
		podIndex, hostname string
		want               string
		wantErr            bool
	}{
		"label":                       {podIndex: "2", hostname: "db-2", want: "2"},
		"label wins over a node name": {podIndex: "3", hostname: "worker-7", want: "3"},
		"leading zeros":               {podIndex: "010", hostname: "x", want: "10"},
		"no label, the pod name":      {hostname: "orders-db-12", want: "12"},
		"no label, no ordinal":        {hostname: "worker", wantErr: true},
		"a label that is no number":   {podIndex: "1; reboot", hostname: "db-1", wantErr: true},
		"a huge number":               {podIndex: "12345678901", hostname: "db-1", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command("bash", "-c", script)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOSTNAME=" + tc.hostname}
			if tc.podIndex != "" {
				cmd.Env = append(cmd.Env, contract.PodIndexEnv+"="+tc.podIndex)
			}
			out, err := cmd.CombinedOutput()
			if tc.wantErr {
				if err == nil || !strings.Contains(string(out), "test: cannot read an ordinal") {
					t.Fatalf("want a failure that says why, got %v: %s", err, out)
				}
				return
			}
			if err != nil || strings.TrimSpace(string(out)) != tc.want {
				t.Fatalf("got %q (%v), want %s", out, err, tc.want)
			}
		})
	}
}

// The templates write no name of the pod contract literally: each comes
// from package contract as a template value. Every profile's scripts are
// rendered with each name replaced by a stand-in, and none of the
// contract's own values may be left in them. Names that are also plain
// words of the servers and of prose ("mysql", "clone", "replication") are
// looked for where a script would use them as names: quoted, after "=",
// or as a user and group.
func TestTemplatesWriteNoContractName(t *testing.T) {
	stand := podContract
	v := reflect.ValueOf(&stand).Elem()
	real := map[string]string{}
	for i := 0; i < v.NumField(); i++ {
		f, name := v.Field(i), v.Type().Field(i).Name
		real[name] = fmt.Sprint(f.Interface())
		switch f.Kind() {
		case reflect.String:
			f.SetString("STANDIN" + name)
		case reflect.Int:
			f.SetInt(int64(60000 + i))
		}
	}
	word := regexp.MustCompile(`^[a-z]+$`)
	used := map[string]bool{}
	for _, p := range variants("db", "db") {
		for _, script := range Names() {
			out, err := renderWith(script, p, stand)
			if err != nil {
				t.Fatal(err)
			}
			for name, value := range real {
				if strings.Contains(out, "STANDIN"+name) || strings.Contains(out, fmt.Sprint(v.FieldByName(name).Interface())) {
					used[name] = true
				}
				var found bool
				if word.MatchString(value) {
					found = regexp.MustCompile(`'` + value + `'|"` + value + `"|=` + value + `\b|\b` + value + `:` + value + `\b`).MatchString(out)
				} else {
					found = strings.Contains(out, value)
				}
				if found {
					t.Errorf("%s (%s, credentials %v) writes %s (%q) literally: use {{.%s}}", script, p.Profile.Name, p.Credentials, name, value, name)
				}
			}
		}
	}
	for name := range real {
		if !used[name] {
			t.Errorf("%s is handed to the scripts but none uses it", name)
		}
	}
}

// sql_password writes a password for a single-quoted SQL string in a
// session with NO_BACKSLASH_ESCAPES: its quotes doubled, its backslashes
// and everything else as they are, a trailing newline dropped; a line break
// inside it and a password too long are refused with a message.
func TestSQLPassword(t *testing.T) {
	var fn strings.Builder
	if err := templates.ExecuteTemplate(&fn, "sql-password", "test"); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		value, want, wantErr string
	}{
		"plain":                {value: "secret", want: "secret"},
		"quotes and more":      {value: `a'b"c\'d $x #;`, want: `a''b"c\''d $x #;`},
		"a trailing newline":   {value: "secret\n", want: "secret"},
		"trailing newlines":    {value: "secret\n\n", want: "secret"},
		"a newline inside":     {value: "sec\nret", wantErr: "test: the replication-password holds a line break"},
		"a carriage return":    {value: "secret\r\n", wantErr: "test: the replication-password holds a line break"},
		"too long":             {value: strings.Repeat("x", 33), wantErr: "test: the replication-password has 33 characters; the server takes at most 32"},
		"as long as it may be": {value: strings.Repeat("x", 32) + "\n", want: strings.Repeat("x", 32)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			script := fn.String() + "\nsql_password quoted replication-password 32 \"the server\" \"$PW\"\nprintf '%s' \"$quoted\"\n"
			cmd := exec.Command("bash", "-c", script)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "PW=" + tc.value}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(stderr.String(), tc.wantErr) {
					t.Fatalf("want a refusal saying %q, got %v: %q", tc.wantErr, err, stderr.String())
				}
				return
			}
			if err != nil || stdout.String() != tc.want {
				t.Fatalf("got %q (%v, %s), want %q", stdout.String(), err, stderr.String(), tc.want)
			}
		})
	}
}
