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
		return errors.New("usage: webhook install-helper DEST")
	}
	return backupstream.InstallSelf(args[0])
}

// keyEnv is the default of --key-env: the replication password, which both
// containers of a pod already hold.
const keyEnv = contract.ReplicationPasswordEnv

// key reads the shared key from the environment variable name; a key on
// the command line would show in every process listing.
func key(name string) ([]byte, error) {
	k := os.Getenv(name)
	if k == "" {
		return nil, fmt.Errorf("the environment variable %s, which holds the key the backup stream is authenticated with, is not set or empty", name)
	}
	return []byte(k), nil
}

func serveBackup(args []string) error {
	fs := flag.NewFlagSet("serve-backup", flag.ContinueOnError)
	port := fs.Int("port", contract.BackupPort, "port to serve backups on")
	env := fs.String("key-env", keyEnv, "environment variable holding the key a receiver must prove it holds")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: webhook serve-backup [--port N] [--key-env NAME] -- COMMAND [ARGS...]")
	}
	k, err := key(*env)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", *port))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &backupstream.Server{Key: k, Command: fs.Args(), Logger: stderrLogger()}
	return srv.Serve(ctx, l)
}

func receiveBackup(args []string) error {
	fs := flag.NewFlagSet("receive-backup", flag.ContinueOnError)
	env := fs.String("key-env", keyEnv, "environment variable holding the key to prove to the server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: webhook receive-backup [--key-env NAME] HOST:PORT")
	}
	k, err := key(*env)
	if err != nil {
		return err
	}
	addr := fs.Arg(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &backupstream.Receiver{Key: k}
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
