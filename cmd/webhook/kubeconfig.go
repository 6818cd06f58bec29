// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"flag"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// clusterFlags are the flags of the commands that talk to a cluster.
type clusterFlags struct{ kubeconfig, namespace *string }

func addClusterFlags(fs *flag.FlagSet) clusterFlags {
	return clusterFlags{
		kubeconfig: fs.String("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)"),
		namespace:  fs.String("n", "", "namespace (default: the kubeconfig context's)"),
	}
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
