// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionshelpers "k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/status"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/controlplane"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/kbuild"
)

// Decode splits a multi-document YAML or JSON stream into objects.
func Decode(b []byte) ([]*unstructured.Unstructured, error) { return kbuild.Decode(b) }

// Controller is a controller-runtime client of the cluster.
func (c *Cluster) Controller() (client.Client, error) { return client.New(c.Config, client.Options{}) }

// Apply creates or updates objects in the cluster (ApplyObjects).
func (c *Cluster) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	return ApplyObjects(ctx, c.Config, objs)
}

// kindTimeout bounds how long ApplyObjects waits for the API server to serve
// a kind whose CustomResourceDefinition was just created.
const kindTimeout = time.Minute

// ApplyObjects creates each object, or updates it when it exists. A kind
// the API server does not serve yet ("no matches for kind"), as right after
// its CustomResourceDefinition was created, is asked for again until it is
// served or a minute has passed: the client's REST mapper looks the group up
// again on each miss.
func ApplyObjects(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured) error {
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	for _, o := range objs {
		o := o.DeepCopy()
		var err error
		if waitErr := Poll(ctx, kindTimeout, fmt.Sprintf("the API server to serve %s", o.GroupVersionKind()), func() (bool, error) {
			err = createOrUpdate(ctx, cl, o)
			return !meta.IsNoMatchError(err), err
		}); waitErr != nil && err == nil {
			err = waitErr
		}
		if err != nil {
			return fmt.Errorf("%s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}

func createOrUpdate(ctx context.Context, cl client.Client, o *unstructured.Unstructured) error {
	err := cl.Create(ctx, o)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	cur := &unstructured.Unstructured{}
	cur.SetGroupVersionKind(o.GroupVersionKind())
	if err := cl.Get(ctx, client.ObjectKeyFromObject(o), cur); err != nil {
		return err
	}
	o.SetResourceVersion(cur.GetResourceVersion())
	return cl.Update(ctx, o)
}

// ApplyCRDs creates or updates CustomResourceDefinitions and waits until
// each is Established and the API server's discovery lists its kind in
// every served version: then objects of every kind they define can be
// created at once. (Discovery listing the group is not enough: the group
// appears with its first established CRD.)
func ApplyCRDs(ctx context.Context, cfg *rest.Config, crds []*unstructured.Unstructured) error {
	if err := ApplyObjects(ctx, cfg, crds); err != nil {
		return err
	}
	crdScheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(crdScheme); err != nil {
		return err
	}
	cl, err := client.New(cfg, client.Options{Scheme: crdScheme})
	if err != nil {
		return err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	for _, u := range crds {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := Poll(ctx, kindTimeout, "CustomResourceDefinition "+u.GetName()+" to be established", func() (bool, error) {
			if err := cl.Get(ctx, client.ObjectKey{Name: u.GetName()}, crd); err != nil {
				return false, err
			}
			return apiextensionshelpers.IsCRDConditionTrue(crd, apiextensionsv1.Established), nil
		}); err != nil {
			return err
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			gv := schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}.String()
			if err := Poll(ctx, kindTimeout, fmt.Sprintf("discovery to list %s in %s", crd.Spec.Names.Kind, gv), func() (bool, error) {
				list, err := disco.ServerResourcesForGroupVersion(gv)
				if err != nil {
					return false, err
				}
				return slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool {
					return r.Kind == crd.Spec.Names.Kind && r.Name == crd.Spec.Names.Plural
				}), nil
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// CertManagerCRDs are cert-manager's CustomResourceDefinitions, from its Go module.
func CertManagerCRDs() ([]*unstructured.Unstructured, error) {
	files, err := controlplane.CertManagerCRDFiles()
	if err != nil {
		return nil, err
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
	return status.RunInPod(ctx, c.Config, c.Client, ns, pod, container, stdin, command...)
}

// ContainerLog is the log of a container of a pod.
func (c *Cluster) ContainerLog(ctx context.Context, ns, pod, container string) (string, error) {
	b, err := c.Client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
	return string(b), err
}

// ContainerPID is the host pid of a running container's first process,
// asked of the containerd of each node until one knows the container.
func (c *Cluster) ContainerPID(ctx context.Context, containerID string) (int, error) {
	id := containerID[strings.Index(containerID, "://")+3:]
	var out []byte
	var err error
	for _, n := range c.nodes {
		out, err = exec.CommandContext(ctx, c.bin("crictl"), "--runtime-endpoint", "unix://"+c.containerdSocket(n),
			"inspect", "--output", "go-template", "--template", "{{.info.pid}}", id).Output()
		if err == nil {
			break
		}
	}
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
