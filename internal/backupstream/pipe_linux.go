// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package backupstream

import (
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is the capacity asked of the pipes around the stream (the most
// an unprivileged process may ask by default): with the default 64 KiB the
// backup tool, this helper and the extracting tool wait on each other at
// every 64 KiB.
const pipeSize = 1 << 20

// growPipe asks for pipeSize of f when f is a pipe; elsewhere, or refused,
// it leaves f as it is.
func growPipe(f *os.File) {
	if info, err := f.Stat(); err != nil || info.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	if conn, err := f.SyscallConn(); err == nil {
		_ = conn.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize) })
	}
}
