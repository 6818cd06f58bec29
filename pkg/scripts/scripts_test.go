package scripts

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/profile"
)

var profiles = profile.Profiles()

// variants are every profile with and without credentials.
func variants(name, service string) []Params {
	var out []Params
	for _, prof := range profiles {
		out = append(out,
			Params{StatefulSet: name, Service: service, Profile: prof},
			Params{StatefulSet: name, Service: service, Profile: prof, Credentials: true, ReplicationUser: "replication", CloneUser: "clone"})
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

func TestRenderDerivesNames(t *testing.T) {
	for _, p := range variants("orders-db", "orders") {
		f := p.Profile.Name
		got := renderAll(t, p)
		if !strings.Contains(got[CloneMySQL], `source_host="orders-db-$((ordinal - 1)).orders"`) {
			t.Errorf("%s: clone source not derived:\n%s", f, got[CloneMySQL])
		}
		if !strings.Contains(got[Sidecar], `primary_host="orders-db-0.orders"`) {
			t.Errorf("%s: primary host not derived", f)
		}
		for name, s := range got {
			if strings.Contains(s, "mysql-0.mysql") || strings.Contains(s, "{{") {
				t.Errorf("%s/%s: hard-coded name or unrendered template", f, name)
			}
		}
	}
}

func TestRenderRejectsUnsafeNames(t *testing.T) {
	for _, p := range []Params{
		{StatefulSet: "a'b", Service: "s", Profile: profile.MySQL57},
		{StatefulSet: "a", Service: "$(reboot)", Profile: profile.MySQL57},
		{StatefulSet: "A", Service: "s", Profile: profile.MySQL57},
		{StatefulSet: "", Service: "s", Profile: profile.MySQL57},
		{StatefulSet: "a", Service: "s"},
		{StatefulSet: "a", Service: "s", Profile: profile.MySQL8, Credentials: true, ReplicationUser: "replication", CloneUser: "c'lone"},
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
		got := renderAll(t, Params{StatefulSet: "db", Service: "db", Profile: prof, Credentials: true, ReplicationUser: "replication", CloneUser: "clone"})
		user := prof.Replication.User
		if strings.Contains(got[Sidecar], "--user=root") || strings.Contains(got[Sidecar], user+"='root'") {
			t.Errorf("%s: the sidecar still uses root without a password", f)
		}
		if !strings.Contains(got[Sidecar], user+"='replication'") || !strings.Contains(got[InitMySQL], "client.opt") {
			t.Errorf("%s: credentials not used", f)
		}
		switch prof.Clone {
		case profile.CloneBackupStream:
			if !strings.Contains(got[Sidecar], "--defaults-extra-file="+ClientOptionFile+" --backup") {
				t.Errorf("%s: the backup does not read the option file first", f)
			}
		case profile.ClonePlugin:
			if !strings.Contains(got[CloneMySQL], "CLONE INSTANCE FROM '$clone_user'") || !strings.Contains(got[CloneMySQL], "clone_user=clone") ||
				!strings.Contains(got[CloneMySQL], "<<SQL") {
				t.Errorf("%s: the clone does not authenticate as the clone user through standard input", f)
			}
		}
	}
	if _, err := Render(Sidecar, Params{StatefulSet: "db", Service: "db", Profile: profile.MySQL57, Credentials: true, ReplicationUser: "x'y", CloneUser: "clone"}); err == nil {
		t.Error("an unsafe replication user was rendered")
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
				p := Params{StatefulSet: fmt.Sprintf("db-%d", i), Service: "db", Profile: profiles[i%len(profiles)]}
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
	if err := templates.ExecuteTemplate(&snippet, "ordinal", values{}.Ordinal("test")); err != nil {
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
				cmd.Env = append(cmd.Env, profile.PodIndexEnv+"="+tc.podIndex)
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
