// Package backupstream serves and receives database backup streams over TCP,
// standing in for ncat in images that lack it (the MariaDB flavour). A backup
// that fails mid-way resets the connection, so the receiver fails too instead
// of taking a cut-off stream for a complete one.
package backupstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"time"

	"github.com/go-logr/logr"
)

// DialTimeout bounds how long Receive waits for a connection.
const DialTimeout = 30 * time.Second

// Serve accepts connections on l one at a time, like ncat --max-conns=1
// --keep-open, and streams the standard output of a fresh run of command to
// each. It returns when ctx ends or l fails.
func Serve(ctx context.Context, l net.Listener, command []string, logger logr.Logger) error {
	if len(command) == 0 {
		return errors.New("no backup command given")
	}
	go func() {
		<-ctx.Done()
		_ = l.Close()
	}()
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accepting a connection: %w", err)
		}
		logger.Info("sending a backup", "peer", conn.RemoteAddr().String())
		if err := send(ctx, conn, command); err != nil {
			logger.Error(err, "backup failed; connection reset", "peer", conn.RemoteAddr().String())
		} else {
			logger.Info("backup sent", "peer", conn.RemoteAddr().String())
		}
	}
}

func send(ctx context.Context, conn net.Conn, command []string) error {
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Stdout = conn
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	if err != nil {
		reset(conn)
		return fmt.Errorf("running %s: %w", command[0], err)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
	return conn.Close()
}

// reset closes the connection with a TCP reset, which the peer reads as an error.
func reset(conn net.Conn) {
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// Receive connects to addr and copies the stream it sends to w. A reset
// connection, as from a failed backup, is an error.
func Receive(ctx context.Context, addr string, w io.Writer) (int64, error) {
	dialer := net.Dialer{Timeout: DialTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	n, err := io.Copy(w, conn)
	if err != nil {
		return n, fmt.Errorf("receiving from %s after %d bytes: %w", addr, n, err)
	}
	return n, nil
}

// InstallSelf copies the running executable to dest, for an init container
// that hands this binary to the other containers of a pod.
func InstallSelf(dest string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating this executable: %w", err)
	}
	in, err := os.Open(self)
	if err != nil {
		return fmt.Errorf("opening %s: %w", self, err)
	}
	defer in.Close()
	tmp := dest + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("creating %s: %w", tmp, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("copying to %s: %w", tmp, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("installing %s: %w", dest, err)
	}
	return nil
}
