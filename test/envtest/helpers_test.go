// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	"sync"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func intstrFromInt(i int32) intstr.IntOrString { return intstr.FromInt32(i) }

// recordingWarnings collects the warnings the API server returns.
type recordingWarnings struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recordingWarnings) HandleWarningHeader(_ int, _ string, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, text)
}

func (r *recordingWarnings) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// warningClient is a client that records the warnings the API server
// answers with.
func warningClient() (client.Client, *recordingWarnings) {
	warnings := &recordingWarnings{}
	wcfg := *cfg
	wcfg.WarningHandler = warnings
	c, err := client.New(&wcfg, client.Options{Scheme: k8sClient.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	return c, warnings
}

// createWithWarnings creates obj and returns the warnings the API server
// answered with.
func createWithWarnings(obj client.Object) *recordingWarnings {
	c, warnings := warningClient()
	Expect(c.Create(ctx, obj)).To(Succeed())
	return warnings
}
