// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/kbuild"
)

// InstallNamespace is where config/default installs the webhook.
const InstallNamespace = "mysql-replication-system"

// RunCertManager loads cert-manager's CRDs and starts its controllers
// (the certmanager program of this package, at bin).
func (c *Cluster) RunCertManager(ctx context.Context, bin string) error {
	crds, err := CertManagerCRDs()
	if err != nil {
		return err
	}
	// Every kind established and served before the install uses them.
	if err := ApplyCRDs(ctx, c.Config, crds); err != nil {
		return err
	}
	return c.Start("cert-manager", bin, "--kubeconfig", c.Kubeconfig)
}

// Installed names what config/default (or the chart) installed.
type Installed struct {
	Objects                          []*unstructured.Unstructured
	Certificate, Webhook, Deployment string
	// Previous is set for the release before this one, which writes no
	// record of the parts it injected.
	Previous bool
}

// InstallProject installs config/default as `make deploy IMG=image` does:
// hack/deploy.sh, which applies it with kubectl's own kustomize (kubectl
// apply -k) and the image set. The objects are those kustomize renders.
func (c *Cluster) InstallProject(ctx context.Context, configDir, image string) (*Installed, error) {
	objs, err := Install(filepath.Join(configDir, "default"), image)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(configDir, "..", "hack", "deploy.sh"), image, "apply")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig, "KUBECTL="+c.bin("kubectl"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("hack/deploy.sh %s apply: %w\n%s", image, err, out)
	}
	return installed(objs), nil
}

// InstallPreviousRelease installs the release that hack/build-release.sh
// built into dir as its users installed it (its `make deploy IMG=image`):
// its config/default rendered with the image set, then kubectl apply.
func (c *Cluster) InstallPreviousRelease(ctx context.Context, dir, image string) (*Installed, error) {
	rendered, err := kbuild.Build(filepath.Join(dir, "config", "default"), image)
	if err != nil {
		return nil, err
	}
	objs, err := Decode(rendered)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, c.bin("kubectl"), "apply", "-f", "-")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	cmd.Stdin = bytes.NewReader(rendered)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("kubectl apply of the release in %s: %w\n%s", dir, err, out)
	}
	in := installed(objs)
	in.Previous = true
	return in, nil
}

// kubectl runs the cluster's kubectl, as a user does, with the admin
// kubeconfig.
func (c *Cluster) kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.bin("kubectl"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// installed names the serving Certificate, the webhook configuration and
// the Deployment among the objects of an install.
func installed(objs []*unstructured.Unstructured) *Installed {
	in := &Installed{Objects: objs}
	for _, o := range objs {
		switch {
		case o.GetKind() == "Certificate" && strings.HasSuffix(o.GetName(), "serving-cert"):
			in.Certificate = o.GetName()
		case o.GetKind() == "MutatingWebhookConfiguration":
			in.Webhook = o.GetName()
		case o.GetKind() == "Deployment":
			in.Deployment = o.GetName()
		}
	}
	return in
}

// WaitReady waits for the serving Certificate to be issued, its CA to be
// injected into the MutatingWebhookConfiguration and both manager replicas
// to be Ready, calling progress after each.
func (c *Cluster) WaitReady(ctx context.Context, in *Installed, progress func(string)) error {
	cl, err := c.Controller()
	if err != nil {
		return err
	}
	if err := Poll(ctx, 3*time.Minute, "the serving Certificate to be issued", func() (bool, error) {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("cert-manager.io/v1")
		u.SetKind("Certificate")
		if err := cl.Get(ctx, types.NamespacedName{Namespace: InstallNamespace, Name: in.Certificate}, u); err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, cond := range conds {
			m := cond.(map[string]any)
			if m["type"] == "Ready" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, fmt.Errorf("conditions %v", conds)
	}); err != nil {
		return fmt.Errorf("%w (cert-manager's log: %s)", err, c.Log("cert-manager"))
	}
	progress(fmt.Sprintf("Certificate %s issued by cert-manager", in.Certificate))
	if err := Poll(ctx, 3*time.Minute, "the CA bundle in the MutatingWebhookConfiguration", func() (bool, error) {
		h, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, in.Webhook, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, w := range h.Webhooks {
			if len(w.ClientConfig.CABundle) == 0 {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return err
	}
	progress(fmt.Sprintf("CA bundle injected into %s by cert-manager's CA injector", in.Webhook))
	if err := Poll(ctx, 5*time.Minute, "both manager replicas to be Ready", func() (bool, error) {
		d, err := c.Client.AppsV1().Deployments(InstallNamespace).Get(ctx, in.Deployment, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		// Replicas counts the pods of an earlier install still running.
		return d.Status.ReadyReplicas == 2 && d.Status.UpdatedReplicas == 2 && d.Status.Replicas == 2, nil
	}); err != nil {
		return fmt.Errorf("%w\n%s", err, c.DescribePods(ctx, InstallNamespace, ""))
	}
	progress(fmt.Sprintf("Deployment %s: 2/2 Ready", in.Deployment))
	// The API server reaches the webhook once kube-proxy routes the
	// Service to the ready pods: a dry-run create of a labeled StatefulSet
	// goes through admission without storing anything. This release
	// records what it injected; the release before it did not, so an
	// answer with a record is this release's, not an earlier install's.
	probe := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "admission-probe", Namespace: "default", Labels: map[string]string{contract.EnabledLabel: contract.EnabledValue}},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: "admission-probe",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "admission-probe"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "admission-probe"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "mysql", Image: MySQLImage}}},
			},
		},
	}
	if err := Poll(ctx, 2*time.Minute, "the webhook to answer through its Service", func() (bool, error) {
		got, err := c.Client.AppsV1().StatefulSets("default").Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return false, err
		}
		injected := got.Annotations[contract.InjectorVersionAnnotation] != ""
		recorded := got.Annotations[contract.InjectedPartsAnnotation] != ""
		if injected && recorded != in.Previous {
			return true, nil
		}
		return false, fmt.Errorf("not injected by the release installed (injected %v, record %v)", injected, recorded)
	}); err != nil {
		return err
	}
	progress("the webhook answers admission requests through its Service")
	return nil
}

// DB is how to talk to one of the sample StatefulSets.
type DB struct {
	Name, Container, Client string
	// CloneSkipped is what clone-mysql logs when a pod keeps its data.
	CloneSkipped string
}

// Samples are the StatefulSets of config/samples that run on this cluster:
// MariaDB 10.11 and MySQL 9.7 (mysql.yaml with the image mysql:9.7).
var Samples = []DB{
	{Name: "mariadb", Container: "mariadb", Client: "mariadb", CloneSkipped: "already"},
	{Name: "mysql", Container: "mysql", Client: "mysql", CloneSkipped: "already holds a database"},
}

// Sample reads config/samples/<name>.yaml, with MySQL at 9.7 and the
// database container's requests small enough that ten pods fit the two
// cores of this machine; everything else is as written.
func Sample(configDir, name, namespace string) (*unstructured.Unstructured, error) {
	b, err := os.ReadFile(filepath.Join(configDir, "samples", name+".yaml"))
	if err != nil {
		return nil, err
	}
	objs, err := Decode(b)
	if err != nil || len(objs) != 1 {
		return nil, fmt.Errorf("config/samples/%s.yaml: want one object (%v)", name, err)
	}
	u := objs[0]
	u.SetNamespace(namespace)
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		return nil, fmt.Errorf("config/samples/%s.yaml has no container", name)
	}
	c0 := containers[0].(map[string]any)
	if name == "mysql" {
		c0["image"] = MySQLImage
	}
	c0["resources"] = map[string]any{"requests": map[string]any{"cpu": "50m", "memory": "256Mi"}}
	if err := unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		return nil, err
	}
	return u, nil
}

// SQL runs statements with the database client in a pod's database
// container against host (127.0.0.1 for the pod's own server, or a Service).
func (c *Cluster) SQL(ctx context.Context, namespace string, d DB, pod, host, statements string) (string, error) {
	stdout, stderr, err := c.Exec(ctx, namespace, pod, d.Container, statements, d.Client,
		"--defaults-extra-file=/etc/mysql/conf.d/client.opt", "-h", host, "-N", "-B")
	if err != nil {
		return stdout, fmt.Errorf("%s on %s -h %s: %w: %s", strings.TrimSpace(statements), pod, host, err, stderr)
	}
	return strings.TrimSpace(stdout), nil
}

// Eventually retries a query until it returns want (replication is asynchronous).
func (c *Cluster) Eventually(ctx context.Context, namespace string, d DB, pod, host, query, want string) error {
	var got string
	err := Poll(ctx, 2*time.Minute, fmt.Sprintf("%q on %s -h %s", want, pod, host), func() (bool, error) {
		var err error
		got, err = c.SQL(ctx, namespace, d, pod, host, query)
		return err == nil && got == want, err
	})
	if err != nil {
		return fmt.Errorf("%w (got %q)", err, got)
	}
	return nil
}

// DescribePods summarises pods for a failure message: their containers'
// states, the last lines of failed ones' logs, recent warning events.
func (c *Cluster) DescribePods(ctx context.Context, namespace, selector string) string {
	var b strings.Builder
	pods, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err.Error()
	}
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "pod %s: %s ready=%v\n", p.Name, p.Status.Phase, PodReady(&p))
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			state := "waiting"
			switch {
			case cs.State.Running != nil:
				state = "running"
			case cs.State.Terminated != nil:
				state = fmt.Sprintf("terminated(%d %s)", cs.State.Terminated.ExitCode, cs.State.Terminated.Reason)
			case cs.State.Waiting != nil:
				state = "waiting(" + cs.State.Waiting.Reason + ": " + cs.State.Waiting.Message + ")"
			}
			fmt.Fprintf(&b, "  %s: %s restarts=%d\n", cs.Name, state, cs.RestartCount)
			if cs.RestartCount > 0 || cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0 {
				if log, err := c.Client.CoreV1().Pods(namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: cs.Name, Previous: cs.RestartCount > 0, TailLines: ptr.To[int64](15)}).DoRaw(ctx); err == nil {
					fmt.Fprintf(&b, "    %s\n", strings.ReplaceAll(strings.TrimSpace(string(log)), "\n", "\n    "))
				}
			}
		}
	}
	events, err := c.Client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err == nil {
		n := len(events.Items)
		for _, e := range events.Items[max(0, n-15):] {
			if e.Type == corev1.EventTypeWarning {
				fmt.Fprintf(&b, "event %s %s: %s\n", e.InvolvedObject.Name, e.Reason, e.Message)
			}
		}
	}
	return b.String()
}
