// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package reliability

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/webhooks"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// Clients that send the headers and most of a large body and then stall
// cannot make the webhook hold their bodies: forty of them, from one
// address, leave its live heap within a bound, and the API server's own
// requests (from another address) are answered meanwhile. Without limits
// each stalled body is buffered whole, and forty of them outgrow the
// manager's memory limit.
func TestStalledClientsCannotExhaustTheWebhook(t *testing.T) {
	if current == nil {
		startHook(t)
	}
	ns := namespace(t, "stalled")
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()

	const clients, declared, sent = 40, 4_000_000, 3_900_000
	attacker := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 10 * time.Second}
	var conns sync.WaitGroup
	stop := make(chan struct{})
	var mu sync.Mutex
	var open []net.Conn
	for i := 0; i < clients; i++ {
		conns.Add(1)
		go func() {
			defer conns.Done()
			raw, err := attacker.Dial("tcp", addr())
			if err != nil {
				return
			}
			conn := tls.Client(raw, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // local test server
			mu.Lock()
			open = append(open, conn)
			mu.Unlock()
			_ = conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
				webhooks.StatefulSetPath, declared)
			chunk := []byte(strings.Repeat("x", 64<<10))
			for n := 0; n < sent; n += len(chunk) {
				if _, err := conn.Write(chunk); err != nil {
					return
				}
			}
			<-stop // stalled: the rest of the body never comes
		}()
	}
	t.Cleanup(func() {
		close(stop)
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		conns.Wait()
	})
	// The stalled clients are connected and sending.
	time.Sleep(2 * time.Second)

	// A legitimate request through the API server is answered meanwhile.
	sts := statefulSet(ns, "meanwhile", true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := k8s.Create(ctx, sts); err != nil {
		t.Fatalf("a StatefulSet created while clients stall: %v", err)
	}
	stored := &appsv1.StatefulSet{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(sts), stored); err != nil || stored.Annotations[contract.InjectorVersionAnnotation] == "" {
		t.Fatalf("the StatefulSet created while clients stall is not completed (%v)", err)
	}

	grown := int64(heap()) - int64(before)
	t.Logf("live heap grew by %d MiB with %d clients stalled on bodies of %d bytes", grown>>20, clients, sent)
	if limit := int64(64 << 20); grown > limit {
		t.Errorf("the live heap grew by %d MiB with %d stalled clients; the bound is %d MiB", grown>>20, clients, limit>>20)
	}
}

// The body limit admits the largest legitimate request: an UPDATE of a
// StatefulSet about as large as etcd stores (1.5 MiB), whose review
// carries it twice.
func TestLargestStatefulSetIsAdmitted(t *testing.T) {
	if current == nil {
		startHook(t)
	}
	ns := namespace(t, "largest")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sts := statefulSet(ns, "large", true)
	env := &sts.Spec.Template.Spec.Containers[0].Env
	*env = []corev1.EnvVar{{Name: "NOTE", Value: strings.Repeat("a", 1_400_000)}}
	if err := k8s.Create(ctx, sts); err != nil {
		t.Fatalf("creating a StatefulSet of 1.4 MB: %v", err)
	}
	for i := range sts.Spec.Template.Spec.Containers[0].Env {
		if e := &sts.Spec.Template.Spec.Containers[0].Env[i]; e.Name == "NOTE" {
			e.Value = strings.Repeat("b", 1_400_000)
		}
	}
	if err := k8s.Update(ctx, sts); err != nil {
		t.Fatalf("updating it: %v", err)
	}
	stored := &appsv1.StatefulSet{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(sts), stored); err != nil || stored.Annotations[contract.InjectorVersionAnnotation] == "" ||
		stored.Generation != 2 {
		t.Fatalf("the large StatefulSet is not stored completed and updated (%v)", err)
	}
}
