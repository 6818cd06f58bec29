// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"os"
	"os/signal"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/plan"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

func adoptCommand(args []string) error {
	cmd := clusterCommand("adopt", "usage: webhook adopt --check (NAME [-n NAMESPACE] [--kubeconfig FILE] | -f FILE|-) [mutation flags]\n\n"+
		"Whether labeling a StatefulSet "+contract.EnabledLabel+"="+contract.EnabledValue+" adopts it: a single server its owner wrote\n"+
		"becomes the primary of a replicated cluster on its own volume. It prints what the webhook\n"+
		"would say (or why it would deny it) and the diff of the pod template its pod restarts with.\n"+
		"Adopting is the label itself; --check changes nothing. Give the mutation flags the webhook runs with.")
	check := cmd.fs.Bool("check", false, "say what labeling would change, and whether it can (required)")
	file := cmd.fs.String("f", "", "StatefulSets (kubectl get statefulset NAME -o yaml); - reads standard input")
	cfg := mutate.Config{}
	mutationFlags(cmd.fs, &cfg)
	name, rest := nameFirst(args)
	if err := cmd.fs.Parse(rest); err != nil {
		return err
	}
	switch {
	case !*check:
		return errors.New("adopting is labeling the StatefulSet (kubectl label statefulset NAME " + contract.EnabledLabel + "=" + contract.EnabledValue +
			"); --check says beforehand what that changes")
	case cmd.fs.NArg() > 0 || (name == "") == (*file == ""):
		return errors.New("give either one StatefulSet NAME (before the flags) or -f FILE (-h for help)")
	}
	var stss []appsv1.StatefulSet
	if *file != "" {
		var err error
		if stss, err = readStatefulSets(*file); err != nil {
			return err
		}
		if len(stss) == 0 {
			return errors.New("no StatefulSet found")
		}
	} else {
		_, c, namespace, err := cmd.connect()
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		var sts appsv1.StatefulSet
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &sts); err != nil {
			return err
		}
		stss = append(stss, sts)
	}
	outcomes := make([]plan.Outcome, 0, len(stss))
	for i := range stss {
		outcomes = append(outcomes, plan.Adoption(cfg, &stss[i]))
	}
	return plan.Write(os.Stdout, outcomes)
}
