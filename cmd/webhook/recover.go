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
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/recovery"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

func recoverPrimaryCommand(args []string) error {
	fs := flag.NewFlagSet("recover-primary", flag.ContinueOnError)
	cluster := addClusterFlags(fs)
	without := fs.String("without", "", "comma-separated ordinals of replicas that are gone, left out of the candidates")
	timeout := fs.Duration("timeout", time.Hour, "how long to wait for pod 0 to be ready")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: webhook recover-primary NAME [-n NAMESPACE] [--without N,...] [--kubeconfig FILE]\n\n"+
			"Recovers pod 0 of StatefulSet NAME, which refused to start on an empty data directory:\n"+
			"it clones the replica holding every transaction the others hold, as the primary.\n\n")
		fs.PrintDefaults()
	}
	name, rest := nameFirst(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" || fs.NArg() > 0 {
		return errors.New("one StatefulSet NAME is required, before the flags (-h for help)")
	}
	var left []int
	for _, w := range strings.FieldsFunc(*without, func(r rune) bool { return r == ',' || r == ' ' }) {
		i, err := strconv.Atoi(w)
		if err != nil {
			return fmt.Errorf("--without %q: not a list of ordinals", *without)
		}
		left = append(left, i)
	}

	cfg, namespace, err := cluster.config()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	key := types.NamespacedName{Namespace: namespace, Name: name}
	plan, err := recovery.Request(ctx, c, key, left)
	if err != nil {
		return err
	}
	fmt.Printf("ConfigMap %s names replicas %v; pod %s starts again and clones the one holding the most transactions\n",
		plan.ConfigMap, plan.Candidates, plan.Pod)
	fmt.Printf("its log: kubectl logs -n %s %s -c %s -f\n", key.Namespace, plan.Pod, contract.CloneMySQLContainer)
	waitCtx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := recovery.Finish(waitCtx, c, key, func(s string) { fmt.Println("  " + s) }); err != nil {
		return err
	}
	fmt.Printf("pod %s is ready: the primary is recovered; the candidates are removed from ConfigMap %s\n", plan.Pod, plan.ConfigMap)
	fmt.Println("replicas that hold less than it are refused by their sidecars (README: \"A replica that diverged\")")
	return nil
}
