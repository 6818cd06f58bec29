// Package backupstream serves and receives database backup streams over TCP,
// standing in for ncat in images that lack it (the MariaDB flavour).
//
// Both ends hold a shared key. A connection starts with a challenge and
// response keyed with it (HMAC-SHA256 over a random nonce of each side), so
// only a receiver that holds the key gets a byte of the backup, and the
// receiver knows the stream comes from a server that holds it. Every
// connection is authenticated concurrently and under a deadline; only
// authenticated ones wait for the single backup slot, and a receiver that
// stops reading is cut off once no data has gone out for ProgressTimeout,
// so no client can keep another from its clone.
//
// The backup goes out in length-prefixed frames, with empty frames to keep
// a waiting or quiet connection alive, and ends with an end frame. A backup
// that fails mid-way resets the connection instead, so the receiver fails
// too instead of taking a cut-off stream for a complete one.
package backupstream

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Defaults of the deadlines and limits of Server and Receiver.
const (
	DialTimeout       = 30 * time.Second
	HandshakeTimeout  = 5 * time.Second
	ProgressTimeout   = 60 * time.Second
	IdleTimeout       = 60 * time.Second
	KeepaliveInterval = 10 * time.Second
	MaxConnections    = 1024
)

const (
	magic     = "MRWB\x01" // protocol and version
	nonceSize = 32
	macSize   = sha256.Size
	// maxFrame bounds a data frame; a larger length is a protocol error.
	maxFrame = 64 << 10
	// endFrame is the length that ends a complete stream.
	endFrame = 0xffffffff
)

// Labels bind each proof to its direction, so the server's proof cannot be
// sent back as the receiver's.
const (
	receiverLabel = "mysql-replication-webhook backup receiver\x00"
	serverLabel   = "mysql-replication-webhook backup server\x00"
)

// ErrRefused is returned by Receive when the server closes the connection
// instead of answering the challenge: the keys differ.
var ErrRefused = errors.New("the backup server refused the key (do both ends hold the same key?)")

func proof(key []byte, label string, nonces ...[]byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(label))
	for _, n := range nonces {
		mac.Write(n)
	}
	return mac.Sum(nil)
}

func nonce() ([]byte, error) {
	n := make([]byte, nonceSize)
	if _, err := rand.Read(n); err != nil {
		return nil, fmt.Errorf("reading random bytes: %w", err)
	}
	return n, nil
}

// Server streams the standard output of a fresh run of Command to each
// receiver that proves it holds Key, one at a time. Zero durations and
// limits take the package defaults. A Server serves one listener.
type Server struct {
	Key     []byte
	Command []string
	Logger  logr.Logger

	HandshakeTimeout  time.Duration // to authenticate a connection
	ProgressTimeout   time.Duration // without any write going out
	KeepaliveInterval time.Duration // between empty frames when no data goes out
	MaxConnections    int           // open at once; more are closed at once

	slot chan struct{}
}

func (s *Server) defaults() {
	s.HandshakeTimeout = orDefault(s.HandshakeTimeout, HandshakeTimeout)
	s.ProgressTimeout = orDefault(s.ProgressTimeout, ProgressTimeout)
	s.KeepaliveInterval = orDefault(s.KeepaliveInterval, KeepaliveInterval)
	if s.MaxConnections <= 0 {
		s.MaxConnections = MaxConnections
	}
	s.slot = make(chan struct{}, 1)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Serve accepts connections on l until ctx ends or l fails; it returns once
// every connection is done.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if len(s.Command) == 0 {
		return errors.New("no backup command given")
	}
	if len(s.Key) == 0 {
		return errors.New("no key given: a backup is only served to a receiver that proves it holds the key")
	}
	s.defaults()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		_ = l.Close()
	}()
	open := make(chan struct{}, s.MaxConnections)
	var backoff time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accepting a connection: %w", err)
			}
			// Out of file descriptors, or a connection aborted before it
			// was accepted: the listener still works.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.Logger.Error(err, "accepting a connection; retrying", "after", backoff.String())
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		select {
		case open <- struct{}{}:
		default:
			s.Logger.Info("too many connections; closed", "peer", conn.RemoteAddr().String(), "max", s.MaxConnections)
			_ = conn.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-open }()
			s.handle(ctx, conn)
		}()
	}
}

func (s *Server) handle(ctx context.Context, conn net.Conn) {
	peer := conn.RemoteAddr().String()
	log := s.Logger.WithValues("peer", peer)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if err := s.authenticate(conn); err != nil {
		_ = conn.Close()
		log.Info("receiver refused", "reason", err.Error())
		return
	}
	out := &frameWriter{conn: conn, timeout: s.ProgressTimeout}
	ticker := time.NewTicker(s.KeepaliveInterval)
	defer ticker.Stop()
	for waiting := true; waiting; {
		select {
		case s.slot <- struct{}{}:
			waiting = false
		case <-ticker.C:
			if err := out.keepalive(); err != nil {
				reset(conn)
				log.Info("waiting receiver cut off", "reason", err.Error())
				return
			}
		case <-ctx.Done():
			reset(conn)
			return
		}
	}
	defer func() { <-s.slot }()
	log.Info("sending a backup")
	start := time.Now()
	if err := s.send(ctx, out, ticker); err != nil {
		reset(conn)
		log.Error(err, "backup failed; connection reset", "bytes", out.sent)
		return
	}
	log.Info("backup sent", "bytes", out.sent, "seconds", time.Since(start).Seconds())
}

// authenticate sends the challenge, checks the answer and proves the key in
// turn, all within HandshakeTimeout. A wrong answer gets nothing more.
func (s *Server) authenticate(conn net.Conn) error {
	if err := conn.SetDeadline(time.Now().Add(s.HandshakeTimeout)); err != nil {
		return err
	}
	serverNonce, err := nonce()
	if err != nil {
		return err
	}
	if _, err := conn.Write(append([]byte(magic), serverNonce...)); err != nil {
		return fmt.Errorf("sending the challenge: %w", err)
	}
	answer := make([]byte, nonceSize+macSize)
	if _, err := io.ReadFull(conn, answer); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	receiverNonce, mac := answer[:nonceSize], answer[nonceSize:]
	if !hmac.Equal(mac, proof(s.Key, receiverLabel, serverNonce, receiverNonce)) {
		return errors.New("wrong key")
	}
	if _, err := conn.Write(proof(s.Key, serverLabel, receiverNonce, serverNonce)); err != nil {
		return fmt.Errorf("sending the proof: %w", err)
	}
	return conn.SetDeadline(time.Time{})
}

// send runs the command and writes its output in frames, with an empty frame
// when it has been quiet for a KeepaliveInterval, then the end frame.
func (s *Server) send(ctx context.Context, out *frameWriter, ticker *time.Ticker) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.Command[0], s.Command[1:]...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.Command[0], err)
	}
	type chunk struct {
		data []byte
		err  error
	}
	chunks, free := make(chan chunk), make(chan []byte, 2)
	free <- make([]byte, maxFrame)
	free <- make([]byte, maxFrame)
	go func() {
		defer close(chunks)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			}
			n, err := stdout.Read(buf)
			select {
			case chunks <- chunk{buf[:n], err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var copyErr error
stream:
	for copyErr == nil {
		select {
		case c := <-chunks:
			if len(c.data) > 0 {
				copyErr = out.frame(c.data)
			}
			free <- c.data[:cap(c.data)]
			if c.err != nil {
				if !errors.Is(c.err, io.EOF) && copyErr == nil {
					copyErr = fmt.Errorf("reading the output of %s: %w", s.Command[0], c.err)
				}
				break stream
			}
		case <-ticker.C:
			if time.Since(out.last) >= s.KeepaliveInterval {
				copyErr = out.keepalive()
			}
		}
	}
	if copyErr != nil {
		cancel()
		_ = cmd.Wait()
		return fmt.Errorf("sending: %w", copyErr)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("running %s: %w", s.Command[0], err)
	}
	if err := out.end(); err != nil {
		return fmt.Errorf("sending the end: %w", err)
	}
	if tcp, ok := out.conn.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
	return out.conn.Close()
}

// frameWriter writes frames, each under a write deadline set anew, so the
// deadline moves on as long as the receiver reads.
type frameWriter struct {
	conn    net.Conn
	timeout time.Duration
	sent    int64
	last    time.Time
	header  [4]byte
}

func (w *frameWriter) write(length uint32, data []byte) error {
	if err := w.conn.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		return err
	}
	binary.BigEndian.PutUint32(w.header[:], length)
	bufs := net.Buffers{w.header[:], data}
	if _, err := bufs.WriteTo(w.conn); err != nil {
		return err
	}
	w.last = time.Now()
	return nil
}

func (w *frameWriter) frame(data []byte) error {
	if err := w.write(uint32(len(data)), data); err != nil {
		return err
	}
	w.sent += int64(len(data))
	return nil
}

func (w *frameWriter) keepalive() error { return w.write(0, nil) }
func (w *frameWriter) end() error       { return w.write(endFrame, nil) }

// reset closes the connection with a TCP reset, which the peer reads as an error.
func reset(conn net.Conn) {
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// Receiver receives a backup from a Server that holds the same Key. Zero
// durations take the package defaults.
type Receiver struct {
	Key         []byte
	DialTimeout time.Duration
	IdleTimeout time.Duration // for each read, the handshake's included
}

// Receive connects to addr and copies the stream it sends to w. A reset
// connection (a failed backup), a stream cut before its end, a server that
// refuses the key or cannot prove it, and IdleTimeout without a byte are
// errors.
func (r *Receiver) Receive(ctx context.Context, addr string, w io.Writer) (int64, error) {
	if len(r.Key) == 0 {
		return 0, errors.New("no key given: the backup server only serves a receiver that proves it holds the key")
	}
	dialer := net.Dialer{Timeout: orDefault(r.DialTimeout, DialTimeout)}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	idle := orDefault(r.IdleTimeout, IdleTimeout)
	if err := conn.SetWriteDeadline(time.Now().Add(idle)); err != nil {
		return 0, err
	}
	in := &idleReader{conn: conn, timeout: idle}
	br := bufio.NewReaderSize(in, maxFrame+4)
	if err := handshake(br, conn, r.Key); err != nil {
		return 0, fmt.Errorf("authenticating with %s: %w", addr, err)
	}
	n, err := readFrames(br, w)
	if err != nil {
		return n, fmt.Errorf("receiving from %s after %d bytes: %w", addr, n, err)
	}
	return n, nil
}

// handshake answers the server's challenge and checks its proof.
func handshake(in io.Reader, out io.Writer, key []byte) error {
	hello := make([]byte, len(magic)+nonceSize)
	if _, err := io.ReadFull(in, hello[:len(magic)]); err != nil {
		return fmt.Errorf("reading the challenge: %w", err)
	}
	if string(hello[:len(magic)]) != magic {
		return errors.New("the peer is not a backup server of this version")
	}
	serverNonce := hello[len(magic):]
	if _, err := io.ReadFull(in, serverNonce); err != nil {
		return fmt.Errorf("reading the challenge: %w", err)
	}
	receiverNonce, err := nonce()
	if err != nil {
		return err
	}
	if _, err := out.Write(append(receiverNonce, proof(key, receiverLabel, serverNonce, receiverNonce)...)); err != nil {
		return fmt.Errorf("answering the challenge: %w", err)
	}
	mac := make([]byte, macSize)
	if _, err := io.ReadFull(in, mac); err != nil {
		if errors.Is(err, io.EOF) {
			return ErrRefused
		}
		return fmt.Errorf("reading the server's proof: %w", err)
	}
	if !hmac.Equal(mac, proof(key, serverLabel, receiverNonce, serverNonce)) {
		return errors.New("the server does not prove it holds the key")
	}
	return nil
}

func readFrames(in io.Reader, w io.Writer) (int64, error) {
	var n int64
	var header [4]byte
	for {
		if _, err := io.ReadFull(in, header[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return n, errors.New("the stream ended before its end mark")
			}
			return n, err
		}
		length := binary.BigEndian.Uint32(header[:])
		switch {
		case length == endFrame:
			return n, nil
		case length > maxFrame:
			return n, fmt.Errorf("a frame of %d bytes, more than %d", length, maxFrame)
		}
		m, err := io.CopyN(w, in, int64(length))
		n += m
		if err != nil {
			return n, err
		}
	}
}

// idleReader reads under a read deadline set anew for each read.
type idleReader struct {
	conn    net.Conn
	timeout time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	if err := r.conn.SetReadDeadline(time.Now().Add(r.timeout)); err != nil {
		return 0, err
	}
	return r.conn.Read(p)
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
