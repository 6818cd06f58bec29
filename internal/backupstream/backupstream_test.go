// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package backupstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/testcerts"
)

// authority is a StatefulSet's certificate authority and a directory of
// the files a pod mounts: ca.crt, tls.crt, tls.key.
type authority struct {
	ca  *testcerts.CA
	dir string
}

// newAuthority makes an authority whose pods' certificate names spec's
// names (by default localhost and 127.0.0.1), as server and client.
func newAuthority(t *testing.T, names ...string) authority {
	t.Helper()
	ca, err := testcerts.NewCA("statefulset")
	if err != nil {
		t.Fatal(err)
	}
	a := authority{ca: ca, dir: t.TempDir()}
	a.issue(t, names...)
	return a
}

// issue writes a new certificate for names into the authority's directory.
func (a authority) issue(t *testing.T, names ...string) *testcerts.Serving {
	t.Helper()
	spec := testcerts.Spec{CommonName: "pod", DNSNames: []string{"localhost"}, IPs: []net.IP{net.ParseIP("127.0.0.1")}, Client: true}
	if len(names) > 0 {
		spec.DNSNames, spec.IPs = names, nil
	}
	cert, err := a.ca.IssueFor(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a.dir, CAFile), a.ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cert.WriteTo(a.dir); err != nil {
		t.Fatal(err)
	}
	return cert
}

func serverConfig(t *testing.T, dir string) *tls.Config {
	t.Helper()
	cfg, err := TLSFiles{Dir: dir}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func clientConfig(t *testing.T, dir string) *tls.Config {
	t.Helper()
	cfg, err := TLSFiles{Dir: dir}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// ours is the authority both ends of a test hold unless it says otherwise.
var ours authority

func TestMain(m *testing.M) {
	os.Exit(func() int {
		t := &testing.T{}
		dir, err := os.MkdirTemp("", "backupstream")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		ca, err := testcerts.NewCA("statefulset")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ours = authority{ca: ca, dir: dir}
		ours.issue(t)
		return m.Run()
	}())
}

// serve runs srv on a local port until the test ends.
func serve(t *testing.T, srv *Server) string {
	t.Helper()
	if srv.TLS == nil {
		srv.TLS = serverConfig(t, ours.dir)
	}
	srv.Logger = logr.Discard()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

// fakeServer answers one connection on a local port with handle, which
// the connection is closed after, until the test ends.
func fakeServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		handle(conn)
	}()
	return l.Addr().String()
}

func command(script string) []string { return []string{"sh", "-c", script} }

func receive(t *testing.T, addr string, r Receiver) (*bytes.Buffer, int64, error) {
	t.Helper()
	if r.TLS == nil {
		r.TLS = clientConfig(t, ours.dir)
	}
	var out bytes.Buffer
	n, err := r.Receive(context.Background(), addr, &out)
	return &out, n, err
}

func TestStreamsEachConnection(t *testing.T) {
	addr := serve(t, &Server{Command: command("head -c 300000 /dev/zero; printf end")})
	for i := 0; i < 3; i++ {
		out, n, err := receive(t, addr, Receiver{})
		if err != nil {
			t.Fatalf("receive %d: %v", i, err)
		}
		if n != 300003 || out.Len() != 300003 || !strings.HasSuffix(out.String(), "end") {
			t.Fatalf("receive %d: %d bytes", i, n)
		}
	}
}

// Quiet stretches of the backup (and the wait for the slot) are bridged by
// empty frames: the receiver's idle deadline is for a dead server only. The
// backup is quiet for longer than that deadline, which is many keepalive
// intervals long, so a slow machine does not cut the receiver off.
func TestQuietBackupKeepsTheReceiver(t *testing.T) {
	addr := serve(t, &Server{Command: command("printf a; sleep 4; printf b"), KeepaliveInterval: 100 * time.Millisecond})
	out, _, err := receive(t, addr, Receiver{IdleTimeout: 2 * time.Second})
	if err != nil || out.String() != "ab" {
		t.Fatalf("received %q, %v", out, err)
	}
}

func TestFailedBackupIsAnErrorForTheReceiver(t *testing.T) {
	addr := serve(t, &Server{Command: command("head -c 100000 /dev/zero; sleep 0.2; exit 3")})
	if out, _, err := receive(t, addr, Receiver{}); err == nil {
		t.Fatalf("a failed backup was received as complete (%d bytes)", out.Len())
	}
}

// A receiver without a certificate of the StatefulSet's authority gets not
// one byte of the backup, whatever it sends.
func TestReceiverOfAnotherAuthorityIsRefused(t *testing.T) {
	addr := serve(t, &Server{Command: command("printf secret-data")})

	other := newAuthority(t)
	// It trusts our server, but holds a certificate of another authority.
	mixed := clientConfig(t, other.dir)
	mixed.RootCAs = clientConfig(t, ours.dir).RootCAs
	out, _, err := receive(t, addr, Receiver{TLS: mixed})
	if err == nil || out.Len() != 0 {
		t.Errorf("a receiver of another authority: %q, %v", out, err)
	}
	noCert := clientConfig(t, ours.dir)
	noCert.GetClientCertificate = nil
	out, _, err = receive(t, addr, Receiver{TLS: noCert})
	if err == nil || out.Len() != 0 {
		t.Errorf("a receiver without a certificate: %q, %v", out, err)
	}

	for name, data := range map[string][]byte{
		"garbage":     bytes.Repeat([]byte{7}, 64),
		"a long line": bytes.Repeat([]byte{0}, 4096),
		"plain HTTP":  []byte("GET / HTTP/1.0\r\n\r\n"),
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, _ = conn.Write(data)
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, _ := io.ReadAll(conn)
			if bytes.Contains(got, []byte("secret")) {
				t.Errorf("got the backup: %q", got)
			}
		})
	}

	if out, _, err := receive(t, addr, Receiver{}); err != nil || out.String() != "secret-data" {
		t.Errorf("a receiver of the authority after refusals: %q, %v", out, err)
	}
}

// A receiver takes a stream only from a server with a certificate of its
// authority for the name it dialled.
func TestReceiverRefusesAServerItCannotAuthenticate(t *testing.T) {
	other := newAuthority(t)
	for name, dir := range map[string]string{
		"another authority":           other.dir,
		"our authority, another name": newAuthorityNaming(t, ours, "elsewhere.example"),
	} {
		t.Run(name, func(t *testing.T) {
			srv := &Server{TLS: serverConfig(t, dir), Command: command("printf forged")}
			srv.TLS.ClientCAs = clientConfig(t, ours.dir).RootCAs
			addr := serve(t, srv)
			out, _, err := receive(t, addr, Receiver{})
			if err == nil || out.Len() != 0 {
				t.Fatalf("received %q, %v", out, err)
			}
		})
	}

	ssh := fakeServer(t, func(conn net.Conn) {
		_, _ = conn.Write([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))
		_, _ = io.Copy(io.Discard, conn)
	})
	if _, _, err := receive(t, ssh, Receiver{IdleTimeout: 2 * time.Second}); err == nil || !strings.Contains(err.Error(), "authenticating") {
		t.Errorf("error %v", err)
	}
}

// newAuthorityNaming issues into a new directory a certificate of a's
// authority for other names only.
func newAuthorityNaming(t *testing.T, a authority, names ...string) string {
	t.Helper()
	b := authority{ca: a.ca, dir: t.TempDir()}
	b.issue(t, names...)
	return b.dir
}

// Pods dial each other by fully qualified names with a trailing dot; the
// certificate names them without it (and by a wildcard), which verifies.
func TestServerNameWithATrailingDot(t *testing.T) {
	a := newAuthority(t, "*.mysql.shop.svc.cluster.local")
	addr := serve(t, &Server{TLS: serverConfig(t, a.dir), Command: command("printf data")})
	cfg := clientConfig(t, a.dir)
	cfg.ServerName = "mysql-1.mysql.shop.svc.cluster.local."
	if out, _, err := receive(t, addr, Receiver{TLS: cfg}); err != nil || out.String() != "data" {
		t.Fatalf("received %q, %v", out, err)
	}
	cfg.ServerName = "mysql-1.mysql.other.svc.cluster.local."
	if out, _, err := receive(t, addr, Receiver{TLS: cfg}); err == nil {
		t.Fatalf("a name the certificate does not hold was taken: %q", out)
	}
}

// A renewed certificate, written where the old one was, is what the next
// handshake presents.
func TestRenewedCertificateIsUsed(t *testing.T) {
	a := newAuthority(t)
	addr := serve(t, &Server{TLS: serverConfig(t, a.dir), Command: command("printf data")})
	presented := func() string {
		cfg := clientConfig(t, a.dir)
		var serial string
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			serial = cs.PeerCertificates[0].SerialNumber.String()
			return nil
		}
		if out, _, err := receive(t, addr, Receiver{TLS: cfg}); err != nil || out.String() != "data" {
			t.Fatalf("received %q, %v", out, err)
		}
		return serial
	}
	first := presented()
	renewed := a.issue(t)
	if got := presented(); got == first || got != renewed.Serial.String() {
		t.Errorf("serial %s after renewal; want %s, not %s", got, renewed.Serial, first)
	}
}

// A client that connects and never speaks does not block a receiver: the
// receiver is served while the silent client is still connected, long
// before its handshake deadline.
func TestSilentClientBlocksNoOne(t *testing.T) {
	addr := serve(t, &Server{Command: command("printf data"), HandshakeTimeout: time.Minute})
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	if out, _, err := receive(t, addr, Receiver{}); err != nil || out.String() != "data" {
		t.Fatalf("received %q, %v", out, err)
	}
	// Still connected, sent nothing: the receiver did not wait for the
	// silent client's deadline.
	_ = silent.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := silent.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the silent client, after the receiver was served: %d bytes, %v; want it still connected and sent nothing", n, err)
	}
}

// A thousand connections that never speak, from many addresses, keep no
// receiver from its backup: an address holds at most MaxHandshakesPerPeer
// handshakes (more are closed at once), and past MaxHandshakes the oldest
// is cut off for the newest.
func TestThousandSilentConnectionsBlockNoReceiver(t *testing.T) {
	addr := serve(t, &Server{Command: command("printf data"), HandshakeTimeout: time.Minute})
	var mu sync.Mutex
	var silents []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range silents {
			c.Close()
		}
	})
	for i := 0; i < 1000; i++ {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(2+i%250))}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("silent connection %d: %v", i, err)
		}
		silents = append(silents, c)
	}
	if out, _, err := receive(t, addr, Receiver{IdleTimeout: 30 * time.Second}); err != nil || out.String() != "data" {
		t.Fatalf("with 1000 silent connections: received %q, %v", out, err)
	}
	// Of the thousand, the server keeps few.
	open := 0
	for _, c := range silents {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) {
			open++
		}
	}
	if open > MaxHandshakes {
		t.Errorf("%d silent connections still held, want at most %d", open, MaxHandshakes)
	}
}

// Connections beyond MaxConnections are closed at once; the limit frees up
// as the silent ones reach the handshake deadline.
func TestConnectionLimit(t *testing.T) {
	addr := serve(t, &Server{Command: command("printf data"), MaxConnections: 2, HandshakeTimeout: 500 * time.Millisecond})
	var silents []net.Conn
	for i := 0; i < 2; i++ {
		silent, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer silent.Close()
		silents = append(silents, silent)
	}
	// Both are counted once the server has accepted them.
	time.Sleep(100 * time.Millisecond)
	if out, _, err := receive(t, addr, Receiver{IdleTimeout: 5 * time.Second}); err == nil {
		t.Fatalf("a connection over the limit received %q", out)
	}
	for _, silent := range silents {
		_ = silent.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := io.ReadAll(silent); err != nil {
			t.Fatalf("a silent client was not cut off at the handshake deadline: %v", err)
		}
	}
	// The server counts a connection out once its handler has returned,
	// just after closing it: a receiver may still find the limit reached.
	deadline := time.Now().Add(time.Minute)
	for {
		out, _, err := receive(t, addr, Receiver{})
		if err == nil && out.String() == "data" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the silent ones were cut off: %q, %v", out, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An authenticated receiver that reads a few bytes and stalls holds the
// backup only until no data has gone out for ProgressTimeout; the receiver
// waiting behind it then gets the whole stream.
func TestStalledReceiverIsCutOff(t *testing.T) {
	const size = 64 << 20 // more than the socket buffers hold
	// The progress deadline is long enough that the receiver reading the
	// whole stream, on a slow machine, is never taken for a stalled one.
	addr := serve(t, &Server{
		Command:           command("head -c 67108864 /dev/zero; printf end"),
		ProgressTimeout:   5 * time.Second,
		KeepaliveInterval: 100 * time.Millisecond,
	})

	stalled, err := tls.Dial("tcp", addr, clientConfig(t, ours.dir))
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	first := make([]byte, 10)
	if _, err := io.ReadFull(stalled, first); err != nil {
		t.Fatal(err)
	}

	type result struct {
		out *bytes.Buffer
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, n, err := receive(t, addr, Receiver{IdleTimeout: 10 * time.Second})
		done <- result{out, n, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(3 * time.Minute): // many progress deadlines: the stalled receiver was never cut off
		t.Fatal("the receiver behind a stalled one is still waiting after 3 minutes")
	}
	if r.err != nil {
		t.Fatalf("the receiver behind a stalled one: %v", r.err)
	}
	if r.n != size+3 || int64(r.out.Len()) != r.n || !strings.HasSuffix(r.out.String(), "end") {
		t.Fatalf("received %d bytes, want %d", r.n, size+3)
	}

	_ = stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, stalled); err == nil {
		t.Error("the stalled receiver's stream ended as if complete")
	}
}

// Two receivers at once: each gets the whole stream, one after the other.
func TestOneBackupAtATime(t *testing.T) {
	addr := serve(t, &Server{Command: command(`echo start; sleep 0.3; echo stop`), KeepaliveInterval: 50 * time.Millisecond})
	type result struct {
		out string
		err error
	}
	results := make(chan result, 2)
	for i := 0; i < 2; i++ {
		go func() {
			out, _, err := receive(t, addr, Receiver{IdleTimeout: 5 * time.Second})
			results <- result{out.String(), err}
		}()
	}
	begin := time.Now()
	for i := 0; i < 2; i++ {
		r := <-results
		if r.err != nil || r.out != "start\nstop\n" {
			t.Fatalf("received %q, %v", r.out, r.err)
		}
	}
	if elapsed := time.Since(begin); elapsed < 600*time.Millisecond {
		t.Errorf("two backups of 0.3 s each took %v: they ran at once", elapsed)
	}
}

func TestReceiveWithoutServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, _, err := receive(t, addr, Receiver{}); err == nil || !strings.Contains(err.Error(), "connecting") {
		t.Fatalf("error %v", err)
	}
}

// A server that accepts and then says nothing is given up on after the
// receiver's idle deadline.
func TestReceiverIdleDeadline(t *testing.T) {
	addr := fakeServer(t, func(net.Conn) {
		time.Sleep(time.Minute) // far past the receiver's deadline
	})
	start := time.Now()
	_, _, err := receive(t, addr, Receiver{IdleTimeout: 300 * time.Millisecond})
	if err == nil || time.Since(start) > 30*time.Second {
		t.Fatalf("error %v after %v", err, time.Since(start))
	}
}

func TestServeAndReceiveNeedTLSAndACommand(t *testing.T) {
	if err := (&Server{TLS: serverConfig(t, ours.dir)}).Serve(context.Background(), nil); err == nil {
		t.Error("Serve without a command: no error")
	}
	if err := (&Server{Command: []string{"true"}}).Serve(context.Background(), nil); err == nil {
		t.Error("Serve without TLS: no error")
	}
	lax := serverConfig(t, ours.dir)
	lax.ClientAuth = tls.RequestClientCert
	if err := (&Server{TLS: lax, Command: []string{"true"}}).Serve(context.Background(), nil); err == nil {
		t.Error("Serve without verifying receivers: no error")
	}
	if _, err := (&Receiver{}).Receive(context.Background(), "127.0.0.1:1", io.Discard); err == nil || !strings.Contains(err.Error(), "no TLS") {
		t.Errorf("Receive without TLS: %v", err)
	}
	if _, err := (TLSFiles{Dir: t.TempDir()}).ServerConfig(); err == nil {
		t.Error("a server configuration from an empty directory")
	}
}

func TestInstallSelf(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "webhook")
	if err := InstallSelf(dest); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm()&0o111 == 0 || info.Size() == 0 {
		t.Errorf("installed file mode %v size %d", info.Mode(), info.Size())
	}
}

// A stream of many frames, of sizes that divide no frame, arrives byte for
// byte, also into a pipe (which the receiver enlarges).
func TestStreamArrivesIntact(t *testing.T) {
	file := filepath.Join(t.TempDir(), "backup")
	addr := serve(t, &Server{Command: command("head -c 5000001 /dev/urandom >" + file + "; cat " + file)})
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		got <- b
	}()
	n, err := (&Receiver{TLS: clientConfig(t, ours.dir)}).Receive(context.Background(), addr, w)
	w.Close()
	received := <-got
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(want)) || !bytes.Equal(received, want) {
		t.Fatalf("received %d bytes (%d counted), want the %d the command wrote", len(received), n, len(want))
	}
}
