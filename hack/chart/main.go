// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Command chart packages the Helm chart as `helm package` does, with the
// Helm SDK:
//
//	go run ./hack/chart [-d DIR] CHART
//
// It writes DIR/<name>-<version>.tgz and prints its path.
package main

import (
	"flag"
	"fmt"
	"os"

	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/helmchart"
)

func main() {
	dest := flag.String("d", ".", "directory to write the package to")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: chart [-d DIR] CHART")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *dest); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

func run(dir, dest string) error {
	ch, err := helmchart.Load(dir)
	if err != nil {
		return err
	}
	if err := ch.Metadata.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	path, err := chartutil.Save(ch, dest)
	if err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}
