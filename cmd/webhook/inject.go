// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"flag"
	"io"
	"os"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/inject"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

func injectCommand(args []string) error {
	fs := flag.NewFlagSet("inject", flag.ContinueOnError)
	file := fs.String("f", "", "manifest to complete; - reads standard input")
	cfg := mutate.Config{}
	mutationFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("-f FILE is required (- for standard input)")
	}
	var in io.Reader = os.Stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	return inject.Run(in, os.Stdout, cfg, inject.Notes(os.Stderr))
}
