// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package install tests the cluster-wide install for real: config/default is
// rendered with kustomize, cert-manager's CRDs (from its Go module) are loaded
// into an envtest API server, every object is applied, and the certificate
// wiring is checked with cert-manager's own Go types.
package install

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/webhooks"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/controlplane"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/kbuild"
)

const configDir = "../../config"

// startPlane starts a control plane for the test, and a client of it.
func startPlane(t *testing.T, opts controlplane.Options) (*controlplane.ControlPlane, client.Client) {
	t.Helper()
	plane, err := controlplane.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = plane.Stop() })
	c, err := client.New(plane.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return plane, c
}

func render(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	out, err := kbuild.Build(filepath.Join(configDir, dir), "")
	if err != nil {
		t.Fatalf("kustomize build config/%s: %v", dir, err)
	}
	objs, err := kbuild.Decode(out)
	if err != nil {
		t.Fatalf("kustomize build config/%s: %v", dir, err)
	}
	return objs
}

// as converts the one rendered object of kind (and name, if given) to T.
func as[T any](t *testing.T, objs []*unstructured.Unstructured, kind, nameSuffix string) *T {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind && strings.HasSuffix(o.GetName(), nameSuffix) {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s named *%s, found %d", kind, nameSuffix, len(found))
	}
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(found[0].Object, out); err != nil {
		t.Fatalf("decoding %s %s: %v", kind, found[0].GetName(), err)
	}
	return out
}

func TestInstallIsAcceptedAndWired(t *testing.T) {
	objs := render(t, "default")

	_, c := startPlane(t, controlplane.Options{CertManagerCRDs: true})
	ctx := context.Background()
	t.Run("every object is accepted", func(t *testing.T) {
		for _, o := range objs {
			if err := c.Create(ctx, o.DeepCopy()); err != nil {
				t.Errorf("%s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
			}
		}
	})

	ns := as[corev1.Namespace](t, objs, "Namespace", "")
	svc := as[corev1.Service](t, objs, "Service", "webhook-service")
	deploy := as[appsv1.Deployment](t, objs, "Deployment", "controller-manager")
	hook := as[admissionregistrationv1.MutatingWebhookConfiguration](t, objs, "MutatingWebhookConfiguration", "")
	serving := as[cmv1.Certificate](t, objs, "Certificate", "serving-cert")
	ca := as[cmv1.Certificate](t, objs, "Certificate", "-ca")
	caIssuer := as[cmv1.Issuer](t, objs, "Issuer", "ca-issuer")
	selfSigned := as[cmv1.Issuer](t, objs, "Issuer", "selfsigned-issuer")

	t.Run("certificates", func(t *testing.T) {
		want := []string{
			fmt.Sprintf("%s.%s.svc", svc.Name, svc.Namespace),
			fmt.Sprintf("%s.%s.svc.cluster.local", svc.Name, svc.Namespace),
		}
		if !slices.Equal(serving.Spec.DNSNames, want) {
			t.Errorf("serving dnsNames %v, want %v", serving.Spec.DNSNames, want)
		}
		if serving.Spec.IssuerRef.Name != caIssuer.Name || serving.Spec.IssuerRef.Kind != "Issuer" {
			t.Errorf("serving certificate issued by %+v, want the CA issuer %s", serving.Spec.IssuerRef, caIssuer.Name)
		}
		if caIssuer.Spec.CA == nil || caIssuer.Spec.CA.SecretName != ca.Spec.SecretName {
			t.Errorf("CA issuer reads %+v, the CA certificate writes %q", caIssuer.Spec.CA, ca.Spec.SecretName)
		}
		if !ca.Spec.IsCA || ca.Spec.IssuerRef.Name != selfSigned.Name || selfSigned.Spec.SelfSigned == nil {
			t.Errorf("CA certificate isCA=%v issued by %q; self-signed issuer %q", ca.Spec.IsCA, ca.Spec.IssuerRef.Name, selfSigned.Name)
		}
		if serving.Spec.IssuerRef.Name == selfSigned.Name {
			t.Error("the serving certificate is signed by the self-signed issuer directly")
		}
	})

	t.Run("webhook configuration", func(t *testing.T) {
		if got, want := hook.Annotations["cert-manager.io/inject-ca-from"], serving.Namespace+"/"+serving.Name; got != want {
			t.Errorf("inject-ca-from %q, want %q", got, want)
		}
		if len(hook.Webhooks) != 3 {
			t.Fatalf("%d webhooks, want 3", len(hook.Webhooks))
		}
		paths := map[string]bool{}
		for _, w := range hook.Webhooks {
			ref := w.ClientConfig.Service
			if ref == nil || ref.Name != svc.Name || ref.Namespace != svc.Namespace || ref.Path == nil {
				t.Errorf("%s: clientConfig %+v does not reach Service %s/%s", w.Name, ref, svc.Namespace, svc.Name)
				continue
			}
			paths[*ref.Path] = true
			if *w.FailurePolicy != admissionregistrationv1.Fail || *w.SideEffects != admissionregistrationv1.SideEffectClassNone ||
				w.TimeoutSeconds == nil || *w.TimeoutSeconds > 10 || !slices.Equal(w.AdmissionReviewVersions, []string{"v1"}) {
				t.Errorf("%s: policy %v, sideEffects %v, timeout %v, versions %v", w.Name, *w.FailurePolicy, *w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions)
			}
			excluded := w.NamespaceSelector.MatchExpressions[0].Values
			if !slices.Contains(excluded, "kube-system") || !slices.Contains(excluded, ns.Name) {
				t.Errorf("%s: namespaces excluded %v, want kube-system and %s", w.Name, excluded, ns.Name)
			}
			if w.ObjectSelector == nil || (len(w.ObjectSelector.MatchLabels) == 0 && len(w.ObjectSelector.MatchExpressions) == 0) {
				t.Errorf("%s: no objectSelector", w.Name)
			}
		}
		if !paths[webhooks.StatefulSetPath] || !paths[webhooks.PodPath] {
			t.Errorf("paths %v", paths)
		}
		if got := hook.Webhooks[0].ObjectSelector.MatchLabels[contract.EnabledLabel]; got != contract.EnabledValue {
			t.Errorf("StatefulSet objectSelector %v", hook.Webhooks[0].ObjectSelector)
		}
	})

	t.Run("deployment", func(t *testing.T) {
		pod := deploy.Spec.Template.Spec
		var mounted bool
		for _, v := range pod.Volumes {
			if v.Secret != nil && v.Secret.SecretName == serving.Spec.SecretName {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("the Deployment does not mount the serving certificate's Secret %q", serving.Spec.SecretName)
		}
		manager := pod.Containers[0]
		var reached bool
		for _, p := range manager.Ports {
			if (svc.Spec.Ports[0].TargetPort.StrVal != "" && p.Name == svc.Spec.Ports[0].TargetPort.StrVal) || p.ContainerPort == svc.Spec.Ports[0].TargetPort.IntVal {
				reached = p.ContainerPort == 9443
			}
		}
		if !reached {
			t.Errorf("Service targetPort %v reaches no webhook port of %v", svc.Spec.Ports[0].TargetPort, manager.Ports)
		}
		var helper string
		for _, e := range manager.Env {
			if e.Name == "HELPER_IMAGE" {
				helper = e.Value
			}
		}
		if helper != manager.Image {
			t.Errorf("HELPER_IMAGE %q, image %q", helper, manager.Image)
		}
		if *deploy.Spec.Replicas < 2 || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
			manager.SecurityContext.ReadOnlyRootFilesystem == nil || !*manager.SecurityContext.ReadOnlyRootFilesystem {
			t.Errorf("replicas %d, pod security %+v, container security %+v", *deploy.Spec.Replicas, pod.SecurityContext, manager.SecurityContext)
		}
		if !selects(svc.Spec.Selector, deploy.Spec.Template.Labels) {
			t.Errorf("Service selector %v does not select the manager pods %v", svc.Spec.Selector, deploy.Spec.Template.Labels)
		}
	})

	t.Run("rbac is least privilege", func(t *testing.T) {
		for _, o := range objs {
			if o.GetKind() != "ClusterRole" && o.GetKind() != "Role" {
				continue
			}
			role := &rbacv1.ClusterRole{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, role); err != nil {
				t.Fatal(err)
			}
			for _, r := range role.Rules {
				for _, field := range [][]string{r.Verbs, r.Resources, r.APIGroups} {
					if slices.Contains(field, "*") {
						t.Errorf("%s %s: wildcard in %+v", o.GetKind(), o.GetName(), r)
					}
				}
				if slices.Contains(r.Resources, "secrets") && !slices.Equal(r.Verbs, []string{"create"}) {
					t.Errorf("%s %s: secrets verbs %v, want create only", o.GetKind(), o.GetName(), r.Verbs)
				}
			}
		}
	})

	t.Run("metrics are served over HTTPS to authorized clients only", func(t *testing.T) {
		metrics := as[corev1.Service](t, objs, "Service", "metrics-service")
		manager := deploy.Spec.Template.Spec.Containers[0]
		var bind string
		for _, a := range manager.Args {
			if v, ok := strings.CutPrefix(a, "--metrics-bind-address="); ok {
				bind = v
			}
			if strings.HasPrefix(a, "--metrics-secure") && a != "--metrics-secure=true" && a != "--metrics-secure" {
				t.Errorf("the manager runs with %s", a)
			}
		}
		if bind != ":8443" {
			t.Errorf("--metrics-bind-address %q, want :8443", bind)
		}
		if len(metrics.Spec.Ports) != 1 {
			t.Fatalf("metrics Service ports %v", metrics.Spec.Ports)
		}
		target := metrics.Spec.Ports[0].TargetPort
		var port int32
		for _, p := range manager.Ports {
			if (target.StrVal != "" && p.Name == target.StrVal) || (target.StrVal == "" && p.ContainerPort == target.IntVal) {
				port = p.ContainerPort
			}
		}
		if want := ":" + strconv.Itoa(int(port)); port == 0 || want != bind {
			t.Errorf("metrics Service targetPort %v reaches container port %d, the manager serves metrics on %q", target.String(), port, bind)
		}
		if !selects(metrics.Spec.Selector, deploy.Spec.Template.Labels) {
			t.Errorf("metrics Service selector %v does not select the manager pods %v", metrics.Spec.Selector, deploy.Spec.Template.Labels)
		}
	})

	t.Run("rbac grants what the manager needs", func(t *testing.T) {
		sa := serviceAccountUser(deploy.Namespace, deploy.Spec.Template.Spec.ServiceAccountName)
		resource := func(group, res, verb string) authorizationv1.SubjectAccessReviewSpec {
			spec := sa
			spec.ResourceAttributes = &authorizationv1.ResourceAttributes{Group: group, Resource: res, Verb: verb, Namespace: "tenant"}
			return spec
		}
		reader := as[rbacv1.ClusterRole](t, objs, "ClusterRole", "metrics-reader")
		scraper := authorizationv1.SubjectAccessReviewSpec{User: "scraper", Groups: []string{"system:authenticated"}}
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "test-scraper"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: scraper.User}},
		}
		if err := c.Create(ctx, binding); err != nil {
			t.Fatal(err)
		}
		metricsGet := func(spec authorizationv1.SubjectAccessReviewSpec) authorizationv1.SubjectAccessReviewSpec {
			spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}
			return spec
		}
		tests := map[string]struct {
			spec authorizationv1.SubjectAccessReviewSpec
			want bool
		}{
			"manager creates tokenreviews":            {spec: clusterResource(sa, "authentication.k8s.io", "tokenreviews", "create"), want: true},
			"manager creates subjectaccessreviews":    {spec: clusterResource(sa, "authorization.k8s.io", "subjectaccessreviews", "create"), want: true},
			"manager watches statefulsets":            {spec: resource("apps", "statefulsets", "watch"), want: true},
			"manager watches configmaps":              {spec: resource("", "configmaps", "watch"), want: true},
			"manager watches services":                {spec: resource("", "services", "watch"), want: true},
			"manager lists networkpolicies":           {spec: resource("networking.k8s.io", "networkpolicies", "list"), want: true},
			"manager watches networkpolicies":         {spec: resource("networking.k8s.io", "networkpolicies", "watch"), want: true},
			"manager gets networkpolicies":            {spec: resource("networking.k8s.io", "networkpolicies", "get"), want: true},
			"manager creates networkpolicies":         {spec: resource("networking.k8s.io", "networkpolicies", "create"), want: true},
			"manager gets pods":                       {spec: resource("", "pods", "get"), want: true},
			"manager does not list pods":              {spec: resource("", "pods", "list")},
			"manager does not update pods":            {spec: resource("", "pods", "update")},
			"manager creates secrets":                 {spec: resource("", "secrets", "create"), want: true},
			"manager does not update networkpolicies": {spec: resource("networking.k8s.io", "networkpolicies", "update")},
			"manager does not delete networkpolicies": {spec: resource("networking.k8s.io", "networkpolicies", "delete")},
			"manager does not read secrets":           {spec: resource("", "secrets", "get")},
			"manager records events":                  {spec: resource("events.k8s.io", "events", "create"), want: true},
			"manager has no core events in tenants":   {spec: resource("", "events", "create")},
			"manager does not delete configmaps":      {spec: resource("", "configmaps", "delete")},
			"manager does not update services":        {spec: resource("", "services", "update")},
			"manager does not update statefulsets":    {spec: resource("apps", "statefulsets", "update")},
			"manager does not list secrets":           {spec: resource("", "secrets", "list")},
			"a metrics-reader reads /metrics":         {spec: metricsGet(scraper), want: true},
			"anyone else does not":                    {spec: metricsGet(authorizationv1.SubjectAccessReviewSpec{User: "someone", Groups: []string{"system:authenticated"}})},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				// RBAC objects take a moment to reach the authorizer.
				var allowed bool
				for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
					review := &authorizationv1.SubjectAccessReview{Spec: tc.spec}
					if err := c.Create(ctx, review); err != nil {
						t.Fatal(err)
					}
					allowed = review.Status.Allowed
					if allowed == tc.want || time.Now().After(deadline) {
						break
					}
				}
				if allowed != tc.want {
					t.Errorf("allowed %v, want %v", allowed, tc.want)
				}
			})
		}
	})

	t.Run("samples", func(t *testing.T) {
		samples := render(t, "samples")
		if len(samples) < 3 {
			t.Fatalf("%d samples", len(samples))
		}
		for _, s := range samples {
			if s.GetKind() != "StatefulSet" || s.GetLabels()[contract.EnabledLabel] != contract.EnabledValue {
				t.Errorf("sample %s %s is not a labeled StatefulSet", s.GetKind(), s.GetName())
			}
		}
	})
}

// serviceAccountUser is the identity a ServiceAccount's pods act as.
func serviceAccountUser(namespace, name string) authorizationv1.SubjectAccessReviewSpec {
	return authorizationv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + namespace + ":" + name,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
	}
}

// clusterResource asks whether spec's user may verb the cluster-scoped resource.
func clusterResource(spec authorizationv1.SubjectAccessReviewSpec, group, resource, verb string) authorizationv1.SubjectAccessReviewSpec {
	spec.ResourceAttributes = &authorizationv1.ResourceAttributes{Group: group, Resource: resource, Verb: verb}
	return spec
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}

// config/network-policy keeps pods off the manager's webhook and metrics
// ports: each policy selects the manager's pods and names a port its
// container serves, and the API server accepts them.
func TestNetworkPoliciesGuardTheManager(t *testing.T) {
	deploy := as[appsv1.Deployment](t, render(t, "default"), "Deployment", "controller-manager")
	policies := render(t, "network-policy")
	ports := map[string]bool{}
	for _, p := range deploy.Spec.Template.Spec.Containers[0].Ports {
		ports[p.Name] = true
	}
	guarded := map[string]bool{}
	for _, o := range policies {
		var np networkingv1.NetworkPolicy
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &np); err != nil {
			t.Fatal(err)
		}
		if !selects(np.Spec.PodSelector.MatchLabels, deploy.Spec.Template.Labels) || len(np.Spec.PodSelector.MatchLabels) == 0 {
			t.Errorf("%s selects %v, not the manager's pods %v", np.Name, np.Spec.PodSelector.MatchLabels, deploy.Spec.Template.Labels)
		}
		for _, rule := range np.Spec.Ingress {
			if len(rule.From) == 0 {
				t.Errorf("%s admits every source", np.Name)
			}
			for _, p := range rule.Ports {
				if p.Port == nil || !ports[p.Port.StrVal] {
					t.Errorf("%s names port %v, which the manager does not serve", np.Name, p.Port)
					continue
				}
				guarded[p.Port.StrVal] = true
			}
		}
	}
	if !guarded["webhook-server"] || !guarded["metrics"] {
		t.Errorf("ports guarded: %v; want webhook-server and metrics", guarded)
	}

	_, c := startPlane(t, controlplane.Options{})
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "system"}}); err != nil {
		t.Fatal(err)
	}
	for _, o := range policies {
		if err := c.Create(ctx, o.DeepCopy()); err != nil {
			t.Errorf("%s: %v", o.GetName(), err)
		}
	}
}
