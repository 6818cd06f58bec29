// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/status"
)

func statusCommand(args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	cluster := addClusterFlags(fs)
	output := fs.String("o", "table", "output: table or json")
	timeout := fs.Duration("timeout", time.Minute, "how long to ask the pods")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: webhook status NAME [-n NAMESPACE] [-o table|json] [--kubeconfig FILE]\n\n"+
			"One line per pod of StatefulSet NAME: role, ready, server version, transactions,\n"+
			"lag, replication threads, last error, clone; read from the pods through the API server.\n\n")
		fs.PrintDefaults()
	}
	name, rest := nameFirst(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" || fs.NArg() > 0 {
		return errors.New("one StatefulSet NAME is required, before the flags (-h for help)")
	}
	if *output != "table" && *output != "json" {
		return fmt.Errorf("-o %q: table or json", *output)
	}
	cfg, namespace, err := cluster.config()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	exec, log, err := status.ForCluster(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	pods, err := status.Collect(ctx, c, exec, log, types.NamespacedName{Namespace: namespace, Name: name})
	if err != nil {
		return err
	}
	if *output == "json" {
		return status.JSON(os.Stdout, pods)
	}
	return status.Table(os.Stdout, pods)
}
