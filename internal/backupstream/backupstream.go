// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package backupstream serves and receives database backup streams over TCP,
// standing in for ncat in images that lack it (the MariaDB flavour).
//
// Both ends authenticate each other with mutual TLS (TLS 1.3), from the
// certificate authority of their StatefulSet: only a receiver with a
// certificate that authority signed gets a byte of the backup, and the
// receiver takes the stream only from a server whose certificate it signed
// for the name the receiver dialled. Every connection is authenticated
// concurrently and under a deadline; a client address may hold only a few
// handshakes at once, and when too many are under way the oldest is cut
// off, so silent connections keep no receiver out. Only authenticated
// connections wait for the single backup slot, and a receiver that stops
// reading is cut off once no data has gone out for ProgressTimeout.
//
// The backup goes out in length-prefixed frames, with empty frames to keep
// a waiting or quiet connection alive, and ends with an end frame. A backup
// that fails mid-way resets the connection instead, so the receiver fails
// too instead of taking a cut-off stream for a complete one.
package backupstream

import (
	"bufio"
	"container/list"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Defaults of the deadlines and limits of Server and Receiver.
const (
	DialTimeout          = 30 * time.Second
	HandshakeTimeout     = 5 * time.Second
	ProgressTimeout      = 60 * time.Second
	IdleTimeout          = 60 * time.Second
	KeepaliveInterval    = 10 * time.Second
	MaxConnections       = 1024
	MaxHandshakes        = 64
	MaxHandshakesPerPeer = 4
)

const (
	// maxFrame bounds a data frame; a larger length is a protocol error.
	maxFrame = 64 << 10
	// frameHeader is a frame's length, before its data.
	frameHeader = 4
	// endFrame is the length that ends a complete stream.
	endFrame = 0xffffffff
)

// The files of a TLS directory: the certificate authority's certificate,
// and this end's certificate and key, as a kubernetes.io/tls Secret (and
// cert-manager) names them.
const (
	CAFile   = "ca.crt"
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
)

// TLSFiles reads the certificates of one end from Dir, anew for each
// handshake, so a renewed certificate is used as soon as it is written.
type TLSFiles struct{ Dir string }

func (f TLSFiles) pool() (*x509.CertPool, error) {
	pem, err := os.ReadFile(filepath.Join(f.Dir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("reading the certificate authority: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", filepath.Join(f.Dir, CAFile))
	}
	return pool, nil
}

func (f TLSFiles) certificate() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(f.Dir, CertFile), filepath.Join(f.Dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("reading this end's certificate: %w", err)
	}
	return &cert, nil
}

// load reads the authority and checks that this end's certificate can be
// read, so that a configuration that cannot work fails at start.
func (f TLSFiles) load() (*x509.CertPool, error) {
	pool, err := f.pool()
	if err != nil {
		return nil, err
	}
	if _, err := f.certificate(); err != nil {
		return nil, err
	}
	return pool, nil
}

// ServerConfig is the server's TLS configuration: its certificate, and a
// client certificate signed by the authority required of every receiver.
func (f TLSFiles) ServerConfig() (*tls.Config, error) {
	pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  pool,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return f.certificate()
		},
	}, nil
}

// ClientConfig is the receiver's TLS configuration: its certificate, and
// the authority the server's certificate must be signed by for the name
// dialled.
func (f TLSFiles) ClientConfig() (*tls.Config, error) {
	pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		RootCAs:    pool,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return f.certificate()
		},
	}, nil
}

// Server streams the standard output of a fresh run of Command to each
// receiver TLS authenticates, one at a time. Zero durations and limits take
// the package defaults. A Server serves one listener.
type Server struct {
	// TLS is the server's configuration (TLSFiles.ServerConfig): it must
	// require and verify client certificates.
	TLS     *tls.Config
	Command []string
	Logger  logr.Logger

	HandshakeTimeout     time.Duration // to authenticate a connection
	ProgressTimeout      time.Duration // without any write going out
	KeepaliveInterval    time.Duration // between empty frames when no data goes out
	MaxConnections       int           // open at once; more are closed at once
	MaxHandshakes        int           // under way at once; a new one cuts the oldest off
	MaxHandshakesPerPeer int           // under way at once from one address; more are closed at once

	slot    chan struct{}
	pending handshakes
}

func (s *Server) defaults() {
	s.HandshakeTimeout = orDefault(s.HandshakeTimeout, HandshakeTimeout)
	s.ProgressTimeout = orDefault(s.ProgressTimeout, ProgressTimeout)
	s.KeepaliveInterval = orDefault(s.KeepaliveInterval, KeepaliveInterval)
	if s.MaxConnections <= 0 {
		s.MaxConnections = MaxConnections
	}
	if s.MaxHandshakes <= 0 {
		s.MaxHandshakes = MaxHandshakes
	}
	if s.MaxHandshakesPerPeer <= 0 {
		s.MaxHandshakesPerPeer = MaxHandshakesPerPeer
	}
	s.slot = make(chan struct{}, 1)
	s.pending = handshakes{max: s.MaxHandshakes, maxPerPeer: s.MaxHandshakesPerPeer, all: list.New(), perPeer: map[string]int{}}
}

// handshakes are the connections not yet authenticated.
type handshakes struct {
	mu              sync.Mutex
	max, maxPerPeer int
	all             *list.List // of *handshake, oldest first
	perPeer         map[string]int
}

type handshake struct {
	conn    net.Conn
	peer    string
	evicted bool
}

// add records a connection whose handshake starts; false when its peer
// has as many under way as it may. When too many are under way the oldest
// is cut off.
func (h *handshakes) add(conn net.Conn, peer string) (*handshake, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perPeer[peer] >= h.maxPerPeer {
		return nil, false
	}
	if h.all.Len() >= h.max {
		oldest := h.all.Remove(h.all.Front()).(*handshake)
		h.forget(oldest)
		oldest.evicted = true
		_ = oldest.conn.Close()
	}
	hs := &handshake{conn: conn, peer: peer}
	h.all.PushBack(hs)
	h.perPeer[peer]++
	return hs, true
}

// done forgets a handshake that ended, unless it was cut off.
func (h *handshakes) done(hs *handshake) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if hs.evicted {
		return
	}
	for e := h.all.Front(); e != nil; e = e.Next() {
		if e.Value == hs {
			h.all.Remove(e)
			break
		}
	}
	h.forget(hs)
}

func (h *handshakes) forget(hs *handshake) {
	if h.perPeer[hs.peer]--; h.perPeer[hs.peer] <= 0 {
		delete(h.perPeer, hs.peer)
	}
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
	if s.TLS == nil || s.TLS.ClientAuth != tls.RequireAndVerifyClientCert {
		return errors.New("no TLS configuration that verifies receivers: a backup is only served to a receiver with a certificate of the StatefulSet's authority")
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

func (s *Server) handle(ctx context.Context, raw net.Conn) {
	peer := raw.RemoteAddr().String()
	log := s.Logger.WithValues("peer", peer)
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer stop()
	conn, err := s.authenticate(raw)
	if err != nil {
		_ = raw.Close()
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

// authenticate runs the TLS handshake within HandshakeTimeout. A peer
// address with MaxHandshakesPerPeer under way is refused at once.
func (s *Server) authenticate(raw net.Conn) (*tls.Conn, error) {
	host, _, err := net.SplitHostPort(raw.RemoteAddr().String())
	if err != nil {
		host = raw.RemoteAddr().String()
	}
	hs, ok := s.pending.add(raw, host)
	if !ok {
		return nil, fmt.Errorf("%d handshakes of %s under way already", s.MaxHandshakesPerPeer, host)
	}
	defer s.pending.done(hs)
	if err := raw.SetDeadline(time.Now().Add(s.HandshakeTimeout)); err != nil {
		return nil, err
	}
	conn := tls.Server(raw, s.TLS)
	if err := conn.Handshake(); err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	return conn, raw.SetDeadline(time.Time{})
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
	if f, ok := stdout.(*os.File); ok {
		growPipe(f)
	}
	type chunk struct {
		data []byte
		err  error
	}
	// Each buffer holds a frame's header before its data, so that a frame
	// goes to the connection in one write (TLS records of the whole frame,
	// not a record of four bytes before them).
	chunks, free := make(chan chunk), make(chan []byte, 2)
	free <- make([]byte, frameHeader+maxFrame)
	free <- make([]byte, frameHeader+maxFrame)
	go func() {
		defer close(chunks)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			}
			n, err := stdout.Read(buf[frameHeader:])
			select {
			case chunks <- chunk{buf[:frameHeader+n], err}:
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
			if len(c.data) > frameHeader {
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
	if tlsConn, ok := out.conn.(*tls.Conn); ok {
		_ = tlsConn.CloseWrite()
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
	header  [frameHeader]byte
}

// write sends frame, whose first frameHeader bytes are free for its header.
func (w *frameWriter) write(length uint32, frame []byte) error {
	if err := w.conn.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		return err
	}
	binary.BigEndian.PutUint32(frame, length)
	if _, err := w.conn.Write(frame); err != nil {
		return err
	}
	w.last = time.Now()
	return nil
}

// frame sends data after the header room at its start.
func (w *frameWriter) frame(data []byte) error {
	if err := w.write(uint32(len(data)-frameHeader), data); err != nil {
		return err
	}
	w.sent += int64(len(data) - frameHeader)
	return nil
}

func (w *frameWriter) keepalive() error { return w.write(0, w.header[:]) }
func (w *frameWriter) end() error       { return w.write(endFrame, w.header[:]) }

// reset closes the connection with a TCP reset, which the peer reads as an
// error (no TLS close_notify: the stream was not complete).
func reset(conn net.Conn) {
	if tlsConn, ok := conn.(*tls.Conn); ok {
		conn = tlsConn.NetConn()
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// Receiver receives a backup from a Server, both authenticated by TLS.
// Zero durations take the package defaults.
type Receiver struct {
	// TLS is the receiver's configuration (TLSFiles.ClientConfig); the
	// server's certificate must name the host dialled unless ServerName
	// says another name.
	TLS         *tls.Config
	DialTimeout time.Duration
	IdleTimeout time.Duration // for each read, the handshake's included
}

// Receive connects to addr and copies the stream it sends to w. A reset
// connection (a failed backup), a stream cut before its end, a server
// whose certificate the authority did not sign for the host dialled, and
// IdleTimeout without a byte are errors.
func (r *Receiver) Receive(ctx context.Context, addr string, w io.Writer) (int64, error) {
	if r.TLS == nil {
		return 0, errors.New("no TLS configuration: the backup is only received from a server with a certificate of the StatefulSet's authority")
	}
	cfg := r.TLS.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return 0, fmt.Errorf("address %q: %w", addr, err)
		}
		cfg.ServerName = host
	}
	dialer := net.Dialer{Timeout: orDefault(r.DialTimeout, DialTimeout)}
	raw, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer stop()
	idle := orDefault(r.IdleTimeout, IdleTimeout)
	if err := raw.SetDeadline(time.Now().Add(idle)); err != nil {
		return 0, err
	}
	conn := tls.Client(raw, cfg)
	if err := conn.Handshake(); err != nil {
		return 0, fmt.Errorf("authenticating %s: %w", addr, err)
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		return 0, err
	}
	if f, ok := w.(*os.File); ok {
		growPipe(f)
	}
	in := &idleReader{conn: conn, timeout: idle}
	n, err := readFrames(bufio.NewReaderSize(in, frameHeader+maxFrame), w)
	if err != nil {
		return n, fmt.Errorf("receiving from %s after %d bytes: %w", addr, n, err)
	}
	return n, nil
}

// readFrames copies the data of the frames from in to w, a frame in one
// write: fewer, larger writes into the pipe to the extracting tool.
func readFrames(in io.Reader, w io.Writer) (int64, error) {
	var n int64
	var header [frameHeader]byte
	buf := make([]byte, maxFrame)
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
		if _, err := io.ReadFull(in, buf[:length]); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		m, err := w.Write(buf[:length])
		n += int64(m)
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
