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

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// clusterFlags are the flags of the commands that act on one StatefulSet
// of a cluster.
type clusterFlags struct {
	fs                    *flag.FlagSet
	kubeconfig, namespace *string
}

// clusterCommand makes the flag set of such a command; usage heads its
// help.
func clusterCommand(name, usage string) clusterFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage+"\n\n")
		fs.PrintDefaults()
	}
	return clusterFlags{
		fs:         fs,
		kubeconfig: fs.String("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)"),
		namespace:  fs.String("n", "", "namespace (default: the kubeconfig context's)"),
	}
}

// target is what such a command acts on, and how.
type target struct {
	key    types.NamespacedName
	cfg    *rest.Config
	client client.Client
}

// parse reads the StatefulSet's name (first) and the flags, checks the
// flags with check (when given), and connects to the cluster; the context
// ends on an interrupt.
func (f clusterFlags) parse(args []string, check func() error) (context.Context, context.CancelFunc, target, error) {
	name, rest := nameFirst(args)
	if err := f.fs.Parse(rest); err != nil {
		return nil, nil, target{}, err
	}
	if name == "" || f.fs.NArg() > 0 {
		return nil, nil, target{}, errors.New("one StatefulSet NAME is required, before the flags (-h for help)")
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, nil, target{}, err
		}
	}
	cfg, c, namespace, err := f.connect()
	if err != nil {
		return nil, nil, target{}, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	return ctx, stop, target{key: types.NamespacedName{Namespace: namespace, Name: name}, cfg: cfg, client: c}, nil
}

// connect loads the kubeconfig and makes a client of the cluster.
func (f clusterFlags) connect() (*rest.Config, client.Client, string, error) {
	cfg, namespace, err := f.config()
	if err != nil {
		return nil, nil, "", err
	}
	c, err := client.New(cfg, client.Options{})
	return cfg, c, namespace, err
}

// config loads the kubeconfig as kubectl does, and the namespace.
func (f clusterFlags) config() (*rest.Config, string, error) {
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: *f.kubeconfig, Precedence: clientcmd.NewDefaultClientConfigLoadingRules().Precedence},
		&clientcmd.ConfigOverrides{})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, "", err
	}
	ns := *f.namespace
	if ns == "" {
		if ns, _, err = loader.Namespace(); err != nil {
			return nil, "", err
		}
	}
	return cfg, ns, nil
}

// nameFirst splits a command's arguments into the object's name, when it
// comes first, and the flags.
func nameFirst(args []string) (string, []string) {
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "", args
}
