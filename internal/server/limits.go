// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits bound what admission clients can make the webhook hold: the API
// server sends one AdmissionReview per request, complete and at once, and
// a client that sends more, more slowly or more at a time is refused
// before it can grow the heap. Every pod of the cluster may reach the
// webhook's port where no NetworkPolicy stops it, and with failurePolicy
// Fail an exhausted webhook refuses every labeled StatefulSet and its pods.
type Limits struct {
	// MaxBody is the largest request body read. The largest AdmissionReview
	// of a StatefulSet the API server stores is an UPDATE of one of about
	// 1.5 MiB (etcd's limit), which carries it twice: about 3 MiB.
	MaxBody int64
	// MaxInFlight bounds the bytes of all bodies being read and handled at
	// once, and MaxPerPeer those of one client address; a request counts
	// its Content-Length (MaxBody without one), at least MinCharge.
	MaxInFlight, MaxPerPeer, MinCharge int64
	// Wait is how long a request waits for room before it is refused (503).
	Wait time.Duration
	// BodyTimeout is how long a request may take to send its body.
	BodyTimeout time.Duration

	mu       sync.Mutex
	inFlight int64
	perPeer  map[string]int64
	freed    chan struct{} // closed and replaced whenever bytes are released
}

// DefaultLimits are the limits the manager serves admission with.
func DefaultLimits() *Limits {
	return &Limits{
		MaxBody:     4 << 20,
		MaxInFlight: 24 << 20,
		MaxPerPeer:  12 << 20,
		MinCharge:   64 << 10,
		Wait:        2 * time.Second,
		BodyTimeout: 5 * time.Second,
	}
}

// Wrap applies the limits to h.
func (l *Limits) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > l.MaxBody {
			http.Error(w, fmt.Sprintf("request body of %d bytes is too large; the limit is %d bytes", r.ContentLength, l.MaxBody), http.StatusRequestEntityTooLarge)
			return
		}
		charge := r.ContentLength
		if charge < 0 {
			charge = l.MaxBody
		}
		charge = max(charge, l.MinCharge)
		peer, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			peer = r.RemoteAddr
		}
		ctx, cancel := context.WithTimeout(r.Context(), l.Wait)
		defer cancel()
		if !l.acquire(ctx, peer, charge) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many admission requests in flight; try again", http.StatusServiceUnavailable)
			return
		}
		defer l.release(peer, charge)
		if l.BodyTimeout > 0 {
			// The whole body must arrive within BodyTimeout; the response
			// is written after it, on the connection's own deadline.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(l.BodyTimeout))
		}
		r.Body = http.MaxBytesReader(w, r.Body, l.MaxBody)
		h.ServeHTTP(w, r)
	})
}

// acquire takes n bytes of the budget for peer, waiting until ctx is done.
func (l *Limits) acquire(ctx context.Context, peer string, n int64) bool {
	for {
		l.mu.Lock()
		if l.perPeer == nil {
			l.perPeer = map[string]int64{}
		}
		if l.freed == nil {
			l.freed = make(chan struct{})
		}
		if l.inFlight+n <= l.MaxInFlight && l.perPeer[peer]+n <= l.MaxPerPeer {
			l.inFlight += n
			l.perPeer[peer] += n
			l.mu.Unlock()
			return true
		}
		freed := l.freed
		l.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return false
		}
	}
}

func (l *Limits) release(peer string, n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight -= n
	if l.perPeer[peer] -= n; l.perPeer[peer] <= 0 {
		delete(l.perPeer, peer)
	}
	close(l.freed)
	l.freed = make(chan struct{})
}

// InFlight reports the bytes held now, for tests.
func (l *Limits) InFlight() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight
}
