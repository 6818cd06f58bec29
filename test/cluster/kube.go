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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/kbuild"
)

// Decode splits a multi-document YAML or JSON stream into objects.
func Decode(b []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if err.Error() == "EOF" {
				return objs, nil
			}
			return objs, err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// Controller is a controller-runtime client of the cluster.
func (c *Cluster) Controller() (client.Client, error) { return client.New(c.Config, client.Options{}) }

// Apply creates each object, or updates it when it exists.
func (c *Cluster) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	cl, err := c.Controller()
	if err != nil {
		return err
	}
	for _, o := range objs {
		o := o.DeepCopy()
		err := cl.Create(ctx, o)
		if apierrors.IsAlreadyExists(err) {
			cur := &unstructured.Unstructured{}
			cur.SetGroupVersionKind(o.GroupVersionKind())
			if err = cl.Get(ctx, client.ObjectKeyFromObject(o), cur); err == nil {
				o.SetResourceVersion(cur.GetResourceVersion())
				err = cl.Update(ctx, o)
			}
		}
		if err != nil {
			return fmt.Errorf("%s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}

// CertManagerCRDs are cert-manager's CustomResourceDefinitions, from its Go module.
func CertManagerCRDs() ([]*unstructured.Unstructured, error) {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager").Output()
	if err != nil {
		return nil, fmt.Errorf("locating the cert-manager module: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(dir)), "deploy", "crds", "cert-manager.io_*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no cert-manager CRDs in the module (%v)", err)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		o, err := Decode(b)
		if err != nil {
			return nil, err
		}
		objs = append(objs, o...)
	}
	return objs, nil
}

// Install renders dir (config/default) with kustomize, the image set to
// image and nothing else changed, as a user's `make deploy IMG=…` does.
func Install(configDefault, image string) ([]*unstructured.Unstructured, error) {
	out, err := kbuild.Build(configDefault, image)
	if err != nil {
		return nil, err
	}
	return Decode(out)
}

// Poll calls cond until it returns true or an error, or timeout passes.
func Poll(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("waiting for %s: %w (last: %v)", what, ctx.Err(), last)
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// StatefulSetReady waits until every replica of the StatefulSet is ready
// and current, calling progress with each pod that became Ready.
func (c *Cluster) StatefulSetReady(ctx context.Context, ns, name string, timeout time.Duration, progress func(pod string)) error {
	seen := map[string]bool{}
	return Poll(ctx, timeout, "StatefulSet "+name+" to be ready", func() (bool, error) {
		sts, err := c.Client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if progress != nil {
			pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(sts.Spec.Selector)})
			if err == nil {
				for _, p := range pods.Items {
					if PodReady(&p) && !seen[p.Name+string(p.UID)] {
						seen[p.Name+string(p.UID)] = true
						progress(p.Name)
					}
				}
			}
		}
		want := int32(1)
		if sts.Spec.Replicas != nil {
			want = *sts.Spec.Replicas
		}
		return sts.Status.ObservedGeneration >= sts.Generation && sts.Status.ReadyReplicas == want &&
			sts.Status.UpdatedReplicas == want && sts.Status.Replicas == want, nil
	})
}

// PodReady tells whether the pod's Ready condition holds.
func PodReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Exec runs command in a container of a pod, as kubectl exec does, with
// stdin when it is not empty.
func (c *Cluster) Exec(ctx context.Context, ns, pod, container, stdin string, command ...string) (string, string, error) {
	req := c.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdin: stdin != "", Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(c.Config, "GET", req.URL().String())
	if err != nil {
		return "", "", err
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.Config, "POST", req.URL())
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

// ContainerLog is the log of a container of a pod.
func (c *Cluster) ContainerLog(ctx context.Context, ns, pod, container string) (string, error) {
	b, err := c.Client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
	return string(b), err
}

// ContainerPID is the host pid of a running container's first process.
func (c *Cluster) ContainerPID(ctx context.Context, containerID string) (int, error) {
	id := containerID[strings.Index(containerID, "://")+3:]
	out, err := exec.CommandContext(ctx, c.bin("crictl"), "--runtime-endpoint", "unix://"+c.containerdSocket(),
		"inspect", "--output", "go-template", "--template", "{{.info.pid}}", id).Output()
	if err != nil {
		return 0, fmt.Errorf("crictl inspect %s: %w", id, err)
	}
	var pid int
	_, err = fmt.Sscan(string(out), &pid)
	return pid, err
}

// StatefulSetOf decodes a StatefulSet from an object.
func StatefulSetOf(u *unstructured.Unstructured) (*appsv1.StatefulSet, error) {
	sts := &appsv1.StatefulSet{}
	b, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	_, _, err = scheme.Codecs.UniversalDeserializer().Decode(b, nil, sts)
	return sts, err
}
