package backupstream

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr"
)

func serve(t *testing.T, command ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, command, logr.Discard()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

func TestStreamsEachConnection(t *testing.T) {
	addr := serve(t, "sh", "-c", "head -c 300000 /dev/zero; printf end")
	for i := 0; i < 3; i++ {
		var out bytes.Buffer
		n, err := Receive(context.Background(), addr, &out)
		if err != nil {
			t.Fatalf("receive %d: %v", i, err)
		}
		if n != 300003 || !strings.HasSuffix(out.String(), "end") {
			t.Fatalf("receive %d: %d bytes", i, n)
		}
	}
}

func TestFailedBackupIsAnErrorForTheReceiver(t *testing.T) {
	addr := serve(t, "sh", "-c", "head -c 100000 /dev/zero; sleep 0.2; exit 3")
	var out bytes.Buffer
	if _, err := Receive(context.Background(), addr, &out); err == nil {
		t.Fatalf("a failed backup was received as complete (%d bytes)", out.Len())
	}
}

func TestReceiveWithoutServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := Receive(context.Background(), addr, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "connecting") {
		t.Fatalf("error %v", err)
	}
}

func TestServeNeedsACommand(t *testing.T) {
	if err := Serve(context.Background(), nil, nil, logr.Discard()); err == nil {
		t.Fatal("no error")
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
