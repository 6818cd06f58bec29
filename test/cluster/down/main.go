// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Command down tears down a cluster that make e2e KEEP=1 or
// make demo KEEP=1 left running.
//
//	down -bin DIR [-dir STATE]
package main

import (
	"flag"
	"os"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/cluster"
)

func main() {
	bin := flag.String("bin", "", "the cluster's binaries (hack/setup-cluster.sh prints the directory)")
	dir := flag.String("dir", cluster.DefaultDir, "the cluster's state directory")
	flag.Parse()
	cluster.Down(*bin, *dir, os.Stdout)
}
