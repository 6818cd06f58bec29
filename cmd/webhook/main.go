// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Command webhook is the mysql-replication webhook: by default it serves the
// mutating admission webhook and the companion reconciler; inject completes
// manifests offline. What runs inside the database pods is the helper
// (cmd/helper), a binary of its own.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// kubectlPlugin is the name under which kubectl runs this binary as its
// plugin "mysql-replication".
const kubectlPlugin = "kubectl-mysql_replication"

const usage = `usage:
  webhook [serve] [flags]              serve the admission webhook and the reconciler
  webhook inject -f FILE|-             print FILE's StatefulSets completed, with their companions
  webhook plan [-f FILE|-] [-n NS|-A]  what mysql-replication.io/upgrade=now would change in completed StatefulSets
  webhook adopt --check NAME|-f FILE   whether labeling a single server's StatefulSet adopts it, and what it changes
  webhook status NAME [-n NS] [-o json] one line per pod of StatefulSet NAME: role, version, lag, threads, errors
  webhook recover-primary NAME [-n NS] recover pod 0 of StatefulSet NAME, which lost its data, from its replicas
  webhook version                      print the release and the injector version
  webhook COMMAND -h                   a command's flags (webhook serve -h: the server's)

As a kubectl plugin (the binary named kubectl-mysql_replication on PATH):
  kubectl mysql-replication status NAME [-n NS]
`

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if filepath.Base(os.Args[0]) == kubectlPlugin {
		// kubectl mysql-replication SUBCOMMAND …: serving is not one.
		cmd = "plugin-help"
	}
	if len(args) > 0 && args[0] != "" && (args[0][0] != '-' || slices.Contains([]string{"-h", "-help", "--help"}, args[0])) {
		cmd, args = args[0], args[1:]
	}
	commands := map[string]func([]string) error{
		"serve":           serve,
		"inject":          injectCommand,
		"plan":            planCommand,
		"adopt":           adoptCommand,
		"recover-primary": recoverPrimaryCommand,
		"status":          statusCommand,
	}
	switch cmd {
	case "help", "-h", "-help", "--help":
		fmt.Print(usage)
		return
	case "version":
		fmt.Printf("mysql-replication-webhook %s (injector version %s)\n", contract.Release, contract.InjectorVersion)
		return
	}
	run, ok := commands[cmd]
	if !ok {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err := run(args); err != nil {
		fmt.Fprintf(os.Stderr, "webhook %s: %v\n", cmd, err)
		os.Exit(1)
	}
}
