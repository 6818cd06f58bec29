package backupstream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

var key = []byte("replication password")

// serve runs srv on a local port until the test ends.
func serve(t *testing.T, srv *Server) string {
	t.Helper()
	if srv.Key == nil {
		srv.Key = key
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
	if r.Key == nil {
		r.Key = key
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

// A receiver with another key is refused, and gets not one byte of the
// backup, whatever it sends.
func TestWrongKeyIsRefused(t *testing.T) {
	addr := serve(t, &Server{Command: command("printf secret-data")})

	out, _, err := receive(t, addr, Receiver{Key: []byte("another password")})
	if !errors.Is(err, ErrRefused) {
		t.Errorf("error %v, want %v", err, ErrRefused)
	}
	if out.Len() != 0 {
		t.Errorf("a refused receiver got %q", out)
	}

	for name, answer := range map[string][]byte{
		"random answer": bytes.Repeat([]byte{7}, nonceSize+macSize),
		"short answer":  []byte("hello"),
		"long answer":   bytes.Repeat([]byte{0}, 4096),
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, _ = conn.Write(answer)
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.CloseWrite()
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, _ := io.ReadAll(conn)
			if len(got) > len(magic)+nonceSize || bytes.Contains(got, []byte("secret")) {
				t.Errorf("got %d bytes beyond the challenge: %q", len(got)-len(magic)-nonceSize, got)
			}
		})
	}

	if out, _, err := receive(t, addr, Receiver{}); err != nil || out.String() != "secret-data" {
		t.Errorf("the right key after refusals: %q, %v", out, err)
	}
}

// A receiver must not take the stream of something that does not prove it
// holds the key.
func TestReceiverRefusesAServerWithoutTheKey(t *testing.T) {
	addr := serve(t, &Server{Key: []byte("another password"), Command: command("printf x")})
	out, _, err := receive(t, addr, Receiver{})
	if err == nil || out.Len() != 0 {
		t.Fatalf("received %q, %v", out, err)
	}

	ssh := fakeServer(t, func(conn net.Conn) {
		_, _ = conn.Write([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))
		_, _ = io.Copy(io.Discard, conn)
	})
	if _, _, err := receive(t, ssh, Receiver{IdleTimeout: 2 * time.Second}); err == nil || !strings.Contains(err.Error(), "not a backup server") {
		t.Errorf("error %v", err)
	}
}

// A client that connects and never speaks does not block a receiver: the
// receiver is served while the silent client is still connected, long
// before its handshake deadline (TestConnectionLimit shows silent clients
// cut off at that deadline).
func TestSilentClientBlocksNoOne(t *testing.T) {
	addr := serve(t, &Server{Command: command("printf data"), HandshakeTimeout: time.Minute})
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	challenge := make([]byte, len(magic)+nonceSize)
	if _, err := io.ReadFull(silent, challenge); err != nil {
		t.Fatal(err)
	}

	if out, _, err := receive(t, addr, Receiver{}); err != nil || out.String() != "data" {
		t.Fatalf("received %q, %v", out, err)
	}
	// Still connected, with nothing more sent: the receiver did not wait
	// for the silent client's deadline.
	_ = silent.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := silent.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the silent client, after the receiver was served: %d bytes, %v; want it still connected and sent nothing more", n, err)
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
		if _, err := io.ReadFull(silent, make([]byte, len(magic))); err != nil {
			t.Fatal(err)
		}
		silents = append(silents, silent)
	}
	if out, _, err := receive(t, addr, Receiver{IdleTimeout: 5 * time.Second}); err == nil {
		t.Fatalf("a connection over the limit received %q", out)
	}
	for _, silent := range silents {
		_ = silent.SetReadDeadline(time.Now().Add(time.Minute))
		got, err := io.ReadAll(silent)
		if err != nil {
			t.Fatalf("a silent client was not cut off at the handshake deadline: %v", err)
		}
		if len(got) != nonceSize {
			t.Errorf("a silent client got %d bytes after the magic, want the nonce only", len(got))
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

	stalled, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if err := handshake(stalled, stalled, key); err != nil {
		t.Fatal(err)
	}
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

func TestServeAndReceiveNeedAKeyAndACommand(t *testing.T) {
	if err := (&Server{Key: key}).Serve(context.Background(), nil); err == nil {
		t.Error("Serve without a command: no error")
	}
	if err := (&Server{Command: []string{"true"}}).Serve(context.Background(), nil); err == nil {
		t.Error("Serve without a key: no error")
	}
	if _, err := (&Receiver{}).Receive(context.Background(), "127.0.0.1:1", io.Discard); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("Receive without a key: %v", err)
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
