// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/backupstream"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

func installHelper(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: helper install DEST")
	}
	return backupstream.InstallSelf(args[0])
}

func serveBackup(args []string) error {
	fs := flag.NewFlagSet("serve-backup", flag.ContinueOnError)
	port := fs.Int("port", contract.BackupPort, "port to serve backups on")
	dir := fs.String("tls-dir", contract.TLSDir, "directory of ca.crt, tls.crt and tls.key: receivers must hold a certificate of that authority")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: helper serve-backup [--port N] [--tls-dir DIR] -- COMMAND [ARGS...]")
	}
	cfg, err := backupstream.TLSFiles{Dir: *dir}.ServerConfig()
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", *port))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &backupstream.Server{TLS: cfg, Command: fs.Args(), Logger: stderrLogger()}
	return srv.Serve(ctx, l)
}

func receiveBackup(args []string) error {
	fs := flag.NewFlagSet("receive-backup", flag.ContinueOnError)
	dir := fs.String("tls-dir", contract.TLSDir, "directory of ca.crt, tls.crt and tls.key: the server must hold a certificate of that authority for HOST")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: helper receive-backup [--tls-dir DIR] HOST:PORT")
	}
	cfg, err := backupstream.TLSFiles{Dir: *dir}.ClientConfig()
	if err != nil {
		return err
	}
	addr := fs.Arg(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &backupstream.Receiver{TLS: cfg}
	n, err := r.Receive(ctx, addr, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "receive-backup: %d bytes from %s\n", n, addr)
	return nil
}

func stderrLogger() logr.Logger {
	return funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{})
}
