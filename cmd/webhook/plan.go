// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/plan"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

func planCommand(args []string) error {
	cmd := clusterCommand("plan", "usage: webhook plan [-f FILE|-] [-n NAMESPACE | -A] [--kubeconfig FILE] [mutation flags]\n\n"+
		"For each StatefulSet the webhook completed, what "+contract.UpgradeAnnotation+"="+contract.UpgradeNow+" would change:\n"+
		"the webhook's parts brought to release "+contract.Release+", the parts kept as yours, and the diff of\n"+
		"the pod template. It reads the StatefulSets from FILE (kubectl get statefulsets -o yaml),\n"+
		"or lists the labeled ones in the cluster. Give the mutation flags the webhook runs with.")
	file := cmd.fs.String("f", "", "StatefulSets as stored (kubectl get statefulsets -o yaml); - reads standard input")
	all := cmd.fs.Bool("A", false, "every namespace")
	cfg := mutate.Config{}
	mutationFlags(cmd.fs, &cfg)
	if err := cmd.fs.Parse(args); err != nil {
		return err
	}
	if cmd.fs.NArg() > 0 {
		return errors.New("no argument is taken besides the flags (-h for help)")
	}
	var stss []appsv1.StatefulSet
	var err error
	if *file != "" {
		stss, err = readStatefulSets(*file)
	} else {
		stss, err = listStatefulSets(cmd, *all)
	}
	if err != nil {
		return err
	}
	if len(stss) == 0 {
		return errors.New("no StatefulSet found")
	}
	outcomes := make([]plan.Outcome, 0, len(stss))
	for i := range stss {
		outcomes = append(outcomes, plan.Of(cfg, &stss[i]))
	}
	return plan.Write(os.Stdout, outcomes)
}

func readStatefulSets(file string) ([]appsv1.StatefulSet, error) {
	var in io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	return plan.Read(in)
}

func listStatefulSets(cmd clusterFlags, all bool) ([]appsv1.StatefulSet, error) {
	_, c, namespace, err := cmd.connect()
	if err != nil {
		return nil, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := []client.ListOption{client.MatchingLabels{contract.EnabledLabel: contract.EnabledValue}}
	if !all {
		opts = append(opts, client.InNamespace(namespace))
	}
	var list appsv1.StatefulSetList
	if err := c.List(ctx, &list, opts...); err != nil {
		return nil, err
	}
	return list.Items, nil
}
