// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// Clients says who may reach the MySQL port of a StatefulSet's pods: the
// pods of its own namespace, and those of Namespaces; everyone when All.
type Clients struct {
	All        bool
	Namespaces []string
}

// ClientsOf reads the annotation contract.ClientNamespacesAnnotation: a
// comma-separated list of namespace names, or contract.AllClients. Without
// it, only the StatefulSet's own namespace.
func ClientsOf(sts *appsv1.StatefulSet) (Clients, error) {
	value, ok := sts.Annotations[contract.ClientNamespacesAnnotation]
	if !ok {
		return Clients{}, nil
	}
	if strings.TrimSpace(value) == contract.AllClients {
		return Clients{All: true}, nil
	}
	var c Clients
	for _, name := range strings.Split(value, ",") {
		name = strings.TrimSpace(name)
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			return Clients{}, inputErrorf(ReasonNetwork, "annotation %s=%q: %q is not a namespace name (%s): list namespace names separated by commas, "+
				"or write %q to admit every source", contract.ClientNamespacesAnnotation, value, name, strings.Join(errs, "; "), contract.AllClients)
		}
		if name != sts.Namespace && !slices.Contains(c.Namespaces, name) {
			c.Namespaces = append(c.Namespaces, name)
		}
	}
	slices.Sort(c.Namespaces)
	return c, nil
}
