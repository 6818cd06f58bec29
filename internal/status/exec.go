// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package status

import (
	"bytes"
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// RunInPod runs command in a container of a pod, as kubectl exec does
// (WebSocket, else SPDY), with stdin when it is not empty, and returns
// its standard output and error.
func RunInPod(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, namespace, pod, container, stdin string, command ...string) (string, string, error) {
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdin: stdin != "", Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	if err != nil {
		return "", "", err
	}
	spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		return "", "", err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(error) bool { return true })
	if err != nil {
		return "", "", err
	}
	var stdout, stderr bytes.Buffer
	opts := remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}
	if stdin != "" {
		opts.Stdin = strings.NewReader(stdin)
	}
	err = ex.StreamWithContext(ctx, opts)
	return stdout.String(), stderr.String(), err
}

// ForCluster returns the Exec and Log that Collect needs, through the API
// server of cfg.
func ForCluster(cfg *rest.Config) (Exec, Log, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	exec := func(ctx context.Context, namespace, pod, container, stdin string, command ...string) (string, error) {
		out, errOut, err := RunInPod(ctx, cfg, cs, namespace, pod, container, stdin, command...)
		if err != nil && strings.TrimSpace(errOut) != "" {
			return out, &execError{err: err, stderr: strings.TrimSpace(errOut)}
		}
		return out, err
	}
	one := int64(1)
	log := func(ctx context.Context, namespace, pod, container string) (string, error) {
		b, err := cs.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &one}).DoRaw(ctx)
		return string(b), err
	}
	return exec, log, nil
}

type execError struct {
	err    error
	stderr string
}

func (e *execError) Error() string { return e.stderr + " (" + e.err.Error() + ")" }
func (e *execError) Unwrap() error { return e.err }
