package scripts

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

var flavors = []Flavor{MySQL, MariaDB}

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
	for _, f := range flavors {
		got := renderAll(t, Params{StatefulSet: "orders-db", Service: "orders", Flavor: f})
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
		{StatefulSet: "a'b", Service: "s"},
		{StatefulSet: "a", Service: "$(reboot)"},
		{StatefulSet: "A", Service: "s"},
		{StatefulSet: "", Service: "s"},
		{StatefulSet: "a", Service: "s", Flavor: "postgres"},
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
	for _, f := range flavors {
		for name, s := range renderAll(t, Params{StatefulSet: "mysql", Service: "mysql", Flavor: f}) {
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
	for _, f := range flavors {
		for name, s := range renderAll(t, Params{StatefulSet: "mysql", Service: "mysql", Flavor: f}) {
			cmd := exec.Command(shellcheck, "--shell=bash", "--severity=style", "-")
			cmd.Stdin = strings.NewReader(s)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s (%s): %v\n%s", name, f, err, out)
			}
		}
	}
}
