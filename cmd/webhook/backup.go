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

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/backupstream"
)

func installHelper(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: webhook install-helper DEST")
	}
	return backupstream.InstallSelf(args[0])
}

func serveBackup(args []string) error {
	fs := flag.NewFlagSet("serve-backup", flag.ContinueOnError)
	port := fs.Int("port", 3307, "port to serve backups on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: webhook serve-backup --port N -- COMMAND [ARGS...]")
	}
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", *port))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return backupstream.Serve(ctx, l, fs.Args(), stderrLogger())
}

func receiveBackup(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: webhook receive-backup HOST:PORT")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := backupstream.Receive(ctx, args[0], os.Stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "receive-backup: %d bytes from %s\n", n, args[0])
	return nil
}

func stderrLogger() logr.Logger {
	return funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{})
}
