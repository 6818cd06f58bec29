// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/status"
)

func statusCommand(args []string) error {
	cmd := clusterCommand("status", "usage: webhook status NAME [-n NAMESPACE] [-o table|json] [--kubeconfig FILE]\n\n"+
		"One line per pod of StatefulSet NAME: role, ready, server version, transactions,\n"+
		"lag, replication threads, last error, clone; read from the pods through the API server.")
	output := cmd.fs.String("o", "table", "output: table or json")
	timeout := cmd.fs.Duration("timeout", time.Minute, "how long to ask the pods")
	ctx, stop, on, err := cmd.parse(args, func() error {
		if *output != "table" && *output != "json" {
			return fmt.Errorf("-o %q: table or json", *output)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer stop()
	exec, log, err := status.ForCluster(on.cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	pods, err := status.Collect(ctx, on.client, exec, log, on.key)
	if err != nil {
		return err
	}
	if *output == "json" {
		return status.JSON(os.Stdout, pods)
	}
	return status.Table(os.Stdout, pods)
}
