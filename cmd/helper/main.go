// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Command helper is what this project runs inside MariaDB pods, whose image
// has no ncat: it streams backups between pods over mutual TLS. An init
// container copies it out of this project's image into the pod. It is built
// from the standard library and package backupstream alone, so that it
// stays small.
package main

import (
	"fmt"
	"os"
)

const usage = `usage:
  helper install DEST                 copy this binary to DEST
  helper serve-backup --port N -- CMD serve CMD's output to each receiver TLS authenticates
  helper receive-backup HOST:PORT     print the stream HOST:PORT sends
                                      both hold certificates of one authority (--tls-dir DIR)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	commands := map[string]func([]string) error{
		"install":        installHelper,
		"serve-backup":   serveBackup,
		"receive-backup": receiveBackup,
	}
	run, ok := commands[cmd]
	if !ok {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err := run(args); err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", cmd, err)
		os.Exit(1)
	}
}
