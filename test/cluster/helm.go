// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/helmchart"
)

// helmConfig is Helm's action configuration for the cluster, as the helm
// command builds it from a kubeconfig (releases stored in Secrets).
func (c *Cluster) helmConfig(namespace string) (*action.Configuration, error) {
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &c.Kubeconfig
	flags.Namespace = &namespace
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, namespace, "secret", func(string, ...any) {}); err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	return cfg, nil
}

// InstallChart installs the chart at dir as `helm install mysql-replication
// dir -n InstallNamespace --create-namespace --set
// manager.image.repository=…,manager.image.tag=…` does.
func (c *Cluster) InstallChart(ctx context.Context, dir, image string) (*Installed, error) {
	ch, err := helmchart.Load(dir)
	if err != nil {
		return nil, err
	}
	cfg, err := c.helmConfig(InstallNamespace)
	if err != nil {
		return nil, err
	}
	repo, tag, ok := strings.Cut(image, ":")
	if !ok {
		return nil, fmt.Errorf("image %s has no tag", image)
	}
	install := action.NewInstall(cfg)
	install.ReleaseName = helmchart.ReleaseName
	install.Namespace = InstallNamespace
	install.CreateNamespace = true
	install.Timeout = 5 * time.Minute
	rel, err := install.RunWithContext(ctx, ch, map[string]any{
		"manager": map[string]any{"image": map[string]any{"repository": repo, "tag": tag}},
	})
	if err != nil {
		return nil, fmt.Errorf("helm install: %w", err)
	}
	objs, err := Decode([]byte(rel.Manifest))
	if err != nil {
		return nil, err
	}
	return installed(objs), nil
}

// UninstallChart removes the release as `helm uninstall` does and waits
// until the manager's pods are gone.
func (c *Cluster) UninstallChart(ctx context.Context) error {
	cfg, err := c.helmConfig(InstallNamespace)
	if err != nil {
		return err
	}
	if _, err := action.NewUninstall(cfg).Run(helmchart.ReleaseName); err != nil {
		return fmt.Errorf("helm uninstall: %w", err)
	}
	return Poll(ctx, 3*time.Minute, "the chart's manager pods to be gone", func() (bool, error) {
		pods, err := c.Client.CoreV1().Pods(InstallNamespace).List(ctx, metav1.ListOptions{LabelSelector: "control-plane=controller-manager"})
		return err == nil && len(pods.Items) == 0, err
	})
}
