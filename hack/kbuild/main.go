// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Command kbuild renders a kustomization with the kustomize library:
//
//	go run ./hack/kbuild [-image REF] DIR
//
// -image sets the image of config/default (and so, through its replacements,
// the injected helper image) on a copy of the tree.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/kbuild"
)

func main() {
	image := flag.String("image", "", "image reference to set in the kustomization's images (name:tag or name@digest)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: kbuild [-image REF] DIR")
		os.Exit(2)
	}
	out, err := kbuild.Build(flag.Arg(0), *image)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kbuild:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
