// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Command webhook is the mysql-replication webhook: by default it serves the
// mutating admission webhook and the companion reconciler. Its subcommands
// inject offline (inject) and stream backups inside MariaDB pods
// (install-helper, serve-backup, receive-backup).
package main

import (
	"fmt"
	"os"
)

const usage = `usage:
  webhook [serve] [flags]              serve the admission webhook and the reconciler
  webhook inject -f FILE|-             print FILE's StatefulSets completed, with their companions
  webhook install-helper DEST          copy this binary to DEST (MariaDB pods)
  webhook serve-backup --port N -- CMD serve CMD's output to each receiver TLS authenticates (MariaDB pods)
  webhook receive-backup HOST:PORT     print the stream HOST:PORT sends (MariaDB pods)
                                       both hold certificates of one authority (--tls-dir DIR)
`

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	commands := map[string]func([]string) error{
		"serve":          serve,
		"inject":         injectCommand,
		"install-helper": installHelper,
		"serve-backup":   serveBackup,
		"receive-backup": receiveBackup,
	}
	run, ok := commands[cmd]
	if !ok || cmd == "help" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err := run(args); err != nil {
		fmt.Fprintf(os.Stderr, "webhook %s: %v\n", cmd, err)
		os.Exit(1)
	}
}
