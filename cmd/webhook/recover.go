// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/recovery"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

func recoverPrimaryCommand(args []string) error {
	cmd := clusterCommand("recover-primary", "usage: webhook recover-primary NAME [-n NAMESPACE] [--without N,...] [--kubeconfig FILE]\n\n"+
		"Recovers pod 0 of StatefulSet NAME, which refused to start on an empty data directory:\n"+
		"it clones the replica holding every transaction the others hold, as the primary.")
	without := cmd.fs.String("without", "", "comma-separated ordinals of replicas that are gone, left out of the candidates")
	timeout := cmd.fs.Duration("timeout", time.Hour, "how long to wait for pod 0 to be ready")
	var left []int
	ctx, stop, on, err := cmd.parse(args, func() error {
		for _, w := range strings.FieldsFunc(*without, func(r rune) bool { return r == ',' || r == ' ' }) {
			i, err := strconv.Atoi(w)
			if err != nil {
				return fmt.Errorf("--without %q: not a list of ordinals", *without)
			}
			left = append(left, i)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer stop()
	plan, err := recovery.Request(ctx, on.client, on.key, left)
	if err != nil {
		return err
	}
	fmt.Printf("ConfigMap %s names replicas %v; pod %s starts again and clones the one holding the most transactions\n",
		plan.ConfigMap, plan.Candidates, plan.Pod)
	fmt.Printf("its log: kubectl logs -n %s %s -c %s -f\n", on.key.Namespace, plan.Pod, contract.CloneMySQLContainer)
	waitCtx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := recovery.Finish(waitCtx, on.client, on.key, func(s string) { fmt.Println("  " + s) }); err != nil {
		return err
	}
	fmt.Printf("pod %s is ready: the primary is recovered; the candidates are removed from ConfigMap %s\n", plan.Pod, plan.ConfigMap)
	fmt.Println("replicas that hold less than it are refused by their sidecars (README: \"A replica that diverged\")")
	return nil
}
