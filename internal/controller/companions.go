// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package controller creates the companion objects of labeled StatefulSets
// (the ConfigMap, the Services, the NetworkPolicy guarding the backup port,
// the generated credentials Secret and, where the Prometheus Operator
// runs, the exporters' PodMonitor) when they are missing. It never
// changes or deletes an object a user made: one that exists under a
// companion's name but cannot serve is reported with a Warning Event.
package controller

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
)

// Name is the controller's name, also the reporting controller of its Events.
const Name = "mysql-replication-companions"

// Event reasons.
const (
	ReasonCreated  = "CompanionCreated"
	ReasonUnusable = "CompanionUnusable"
	ReasonInvalid  = "InvalidStatefulSet"
	// ReasonEmptyPrimary: pod 0 of an initialised StatefulSet found its data
	// directory empty and refused to start.
	ReasonEmptyPrimary = "EmptyPrimary"
	// ReasonRecoveryLeft: pod 0 is ready and a recovery request is still in
	// ConfigMap <name>-initialized.
	ReasonRecoveryLeft = "RecoveryRequestLeft"
	// ReasonNoCertManager: the pods' certificates cannot be made because
	// cert-manager's kinds are not served.
	ReasonNoCertManager = "CertManagerMissing"
	// ReasonUpgradeAvailable: the running release would inject other
	// parts than the StatefulSet's pods run.
	ReasonUpgradeAvailable = "UpgradeAvailable"
)

// CompanionReconciler creates missing companions of labeled StatefulSets.
type CompanionReconciler struct {
	// Client writes, and reads the cached StatefulSets.
	Client client.Client
	// Reader looks companions up by name, uncached: the cache holds only the
	// companions this controller made, not the users' objects.
	Reader   client.Reader
	Recorder events.EventRecorder
	// ClusterDomain is the cluster's DNS domain, in the names of the pods'
	// certificates.
	ClusterDomain string
}

var _ reconcile.Reconciler = (*CompanionReconciler)(nil)

// SetupWithManager registers the controller.
func (r *CompanionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named(Name).
		For(&appsv1.StatefulSet{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return o.GetLabels()[contract.EnabledLabel] == contract.EnabledValue
		}))).
		// The companions are watched as metadata only (name and owner): a
		// deleted one is re-created, and no companion's content is cached.
		Owns(&corev1.ConfigMap{}, builder.OnlyMetadata).
		Owns(&corev1.Service{}, builder.OnlyMetadata).
		Owns(&networkingv1.NetworkPolicy{}, builder.OnlyMetadata).
		Owns(&policyv1.PodDisruptionBudget{}, builder.OnlyMetadata).
		Complete(r)
}

// The controller's RBAC, from which config/rbac/role.yaml is generated
// (make manifests; a test checks the two agree):
//
// It watches the labeled StatefulSets.
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch
//
// It looks companions up by name and creates the missing ones, the
// NetworkPolicy <name>-backup that guards the backup port among them; it
// never updates or deletes one.
// +kubebuilder:rbac:groups="",resources=configmaps;services,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create
// It creates the PodDisruptionBudget <name> of a StatefulSet of more than
// one pod.
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create
//
// It creates the generated credentials Secret <name>-credentials once.
// Create only: it never reads, lists, changes or deletes a Secret, so an
// existing Secret of that name (generated earlier, or the user's) stays as
// it is.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=create
//
// It reads pod <name>-0 of a labeled StatefulSet by name, uncached, to
// report a primary that refused to start on an empty data directory (and,
// once it is ready, a recovery request left in <name>-initialized).
// +kubebuilder:rbac:groups="",resources=pods,verbs=get
//
// It has cert-manager issue the pods' certificates: it creates the missing
// issuers and certificates of a StatefulSet, and adds pods' names to its
// Certificate as the StatefulSet grows; it never deletes one.
// +kubebuilder:rbac:groups=cert-manager.io,resources=issuers,verbs=get;create
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;create;update
//
// It creates the PodMonitor <name>-metrics of a StatefulSet whose pods
// run the exporter, where the Prometheus Operator's kind is served.
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=podmonitors,verbs=get;create
//
// Events on the StatefulSets it serves, through the events.k8s.io API only.
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile creates what is missing for one StatefulSet.
func (r *CompanionReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	logger := log.FromContext(ctx)
	var sts appsv1.StatefulSet
	if err := r.Client.Get(ctx, req.NamespacedName, &sts); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !mutate.Enabled(&sts) || !sts.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	if size, ok := sts.Annotations[contract.TooLargeToCacheAnnotation]; ok {
		logger.Info("StatefulSet too large to serve", "bytes", size)
		r.Recorder.Eventf(&sts, nil, corev1.EventTypeWarning, ReasonInvalid, "Cache",
			"its names, labels, selector, annotations and images take %s bytes, more than the %d the controller keeps of a StatefulSet: "+
				"no companion is created; shorten them", size, MaxCachedStatefulSet)
		return reconcile.Result{}, nil
	}
	if _, stale := sts.Annotations[contract.StaleInjectionAnnotation]; stale {
		r.Recorder.Eventf(&sts, nil, corev1.EventTypeNormal, ReasonUpgradeAvailable, "Upgrade",
			"its pods run parts an earlier release of the webhook injected; release %s injects others. They wait for a change of the pod template, "+
				"or for: kubectl annotate statefulset -n %s %s %s=%s (the pods restart, replicas first)",
			contract.Release, sts.Namespace, sts.Name, contract.UpgradeAnnotation, contract.UpgradeNow)
	}
	companions, err := mutate.BuildCompanions(&sts)
	if err != nil {
		logger.Info("cannot build companions", "reason", err.Error())
		r.Recorder.Eventf(&sts, nil, corev1.EventTypeWarning, ReasonInvalid, "BuildCompanions", "%s", err.Error())
		return reconcile.Result{}, nil
	}
	policy, err := BuildBackupNetworkPolicy(&sts)
	if err != nil {
		logger.Info("cannot build the NetworkPolicy", "reason", err.Error())
		r.Recorder.Eventf(&sts, nil, corev1.EventTypeWarning, ReasonInvalid, "BuildNetworkPolicy", "%s", err.Error())
		return reconcile.Result{}, nil
	}
	metricsPolicy, err := BuildMetricsNetworkPolicy(&sts)
	if err != nil {
		logger.Info("cannot build the metrics NetworkPolicy", "reason", err.Error())
		r.Recorder.Eventf(&sts, nil, corev1.EventTypeWarning, ReasonInvalid, "BuildNetworkPolicy", "%s", err.Error())
		return reconcile.Result{}, nil
	}
	wanted := append(companions.Objects(), policy)
	if metricsPolicy != nil {
		wanted = append(wanted, metricsPolicy)
	}
	if budget := BuildDisruptionBudget(&sts); budget != nil {
		wanted = append(wanted, budget)
	}
	for _, want := range wanted {
		if err := r.ensure(ctx, &sts, want); err != nil {
			return reconcile.Result{}, err
		}
	}
	if err := r.ensurePodMonitor(ctx, &sts); err != nil {
		return reconcile.Result{}, err
	}
	if mutate.GeneratesCredentials(sts.Annotations) {
		if err := r.ensureCredentials(ctx, &sts); err != nil {
			return reconcile.Result{}, err
		}
	}
	if requeue, err := r.ensureTLS(ctx, &sts); err != nil || requeue {
		return reconcile.Result{RequeueAfter: certManagerRecheck}, err
	}
	return r.watchPrimary(ctx, &sts)
}

// certManagerRecheck is how often a StatefulSet whose certificates cannot
// be made (cert-manager is not installed) is looked at again.
const certManagerRecheck = time.Minute

// ensureTLS has cert-manager issue the pods' TLS Secret of a TLS profile:
// it creates the missing issuers and certificates (mutate.TLSObjects), and
// adds names to the pods' Certificate when the StatefulSet has grown past
// the pods it names. requeue is true when cert-manager's kinds are not
// served, which a Warning Event reports.
func (r *CompanionReconciler) ensureTLS(ctx context.Context, sts *appsv1.StatefulSet) (requeue bool, err error) {
	prof, err := mutate.StatefulSetProfile(sts)
	if err != nil || !prof.TLS {
		return false, nil
	}
	domain := r.ClusterDomain
	if domain == "" {
		domain = contract.DefaultClusterDomain
	}
	objs, err := mutate.TLSObjects(sts, domain)
	if err != nil {
		r.Recorder.Eventf(sts, nil, corev1.EventTypeWarning, ReasonInvalid, "BuildTLS", "%s", err.Error())
		return false, nil
	}
	for _, want := range objs {
		err := r.ensure(ctx, sts, want)
		if meta.IsNoMatchError(err) {
			log.FromContext(ctx).Info("cert-manager's kinds are not served", "reason", err.Error())
			r.Recorder.Eventf(sts, nil, corev1.EventTypeWarning, ReasonNoCertManager, "CreateCertificates",
				"cannot have the pods' certificates issued: cert-manager is not installed (%v); the pods wait for Secret %s", err, mutate.TLSSecretName(sts))
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
	if len(objs) == 0 {
		return false, nil
	}
	return false, r.coverReplicas(ctx, sts, objs[len(objs)-1].(*cmapi.Certificate))
}

// coverReplicas adds to the pods' Certificate, where it is this
// controller's, the names of pods the StatefulSet has grown to; cert-manager
// then issues the Secret again.
func (r *CompanionReconciler) coverReplicas(ctx context.Context, sts *appsv1.StatefulSet, want *cmapi.Certificate) error {
	have := &cmapi.Certificate{}
	if err := r.Reader.Get(ctx, client.ObjectKeyFromObject(want), have); err != nil {
		return client.IgnoreNotFound(err)
	}
	if have.Labels[contract.LabelManagedBy] != contract.ManagedBy || isSubset(want.Spec.DNSNames, have.Spec.DNSNames) {
		return nil
	}
	have.Spec.DNSNames = want.Spec.DNSNames
	if err := r.Client.Update(ctx, have); err != nil {
		return fmt.Errorf("naming more pods in Certificate %s/%s: %w", have.Namespace, have.Name, err)
	}
	r.Recorder.Eventf(sts, have, corev1.EventTypeNormal, ReasonCreated, "Update",
		"Certificate %s names more pods now; cert-manager issues Secret %s again", have.Name, have.Spec.SecretName)
	return nil
}

func isSubset(want, have []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// primaryRecheck is how often pod 0 is looked at while it is not ready.
const primaryRecheck = 30 * time.Second

// watchPrimary records, once the StatefulSet has had a ready pod, that its
// primary has been initialised (the ConfigMap <name>-initialized, which
// pod 0's clone-mysql reads), and reports with a Warning Event a pod 0 that
// refused to start on an empty data directory.
func (r *CompanionReconciler) watchPrimary(ctx context.Context, sts *appsv1.StatefulSet) (reconcile.Result, error) {
	if sts.Status.ReadyReplicas > 0 {
		if err := r.markInitialized(ctx, sts); err != nil {
			return reconcile.Result{}, err
		}
	}
	var pod corev1.Pod
	err := r.Reader.Get(ctx, types.NamespacedName{Namespace: sts.Namespace, Name: sts.Name + "-0"}, &pod)
	switch {
	case apierrors.IsNotFound(err):
		return reconcile.Result{}, nil
	case err != nil:
		return reconcile.Result{}, fmt.Errorf("reading pod %s/%s-0: %w", sts.Namespace, sts.Name, err)
	}
	if msg := refusedEmpty(&pod); msg != "" {
		log.FromContext(ctx).Info("the primary refused to start on an empty data directory", "pod", pod.Name)
		r.Recorder.Eventf(sts, &pod, corev1.EventTypeWarning, ReasonEmptyPrimary, "Check",
			"pod %s has an empty data directory and refused to start as the primary of an initialised StatefulSet; "+
				"restore its data or delete ConfigMap %s to start it empty (README: \"An empty primary\"): %s",
			pod.Name, mutate.InitializedConfigMapName(sts), msg)
	}
	if !mutate.PodReady(&pod) {
		return reconcile.Result{RequeueAfter: primaryRecheck}, nil
	}
	return reconcile.Result{}, r.recoveryLeft(ctx, sts)
}

// recoveryLeft reports a recovery request (webhook recover-primary) left in
// ConfigMap <name>-initialized once pod 0 is ready: it would let a later
// loss of the primary's data be recovered without anyone asking.
func (r *CompanionReconciler) recoveryLeft(ctx context.Context, sts *appsv1.StatefulSet) error {
	var marker corev1.ConfigMap
	err := r.Reader.Get(ctx, types.NamespacedName{Namespace: sts.Namespace, Name: mutate.InitializedConfigMapName(sts)}, &marker)
	if err != nil {
		return client.IgnoreNotFound(err)
	}
	if _, ok := marker.Data[contract.RecoverFromKey]; ok {
		r.Recorder.Eventf(sts, &marker, corev1.EventTypeWarning, ReasonRecoveryLeft, "Check",
			"pod %s-0 is ready, and ConfigMap %s still names replicas to recover it from (key %s): remove the key, "+
				"or a later loss of the primary's data is recovered without anyone asking", sts.Name, marker.Name, contract.RecoverFromKey)
	}
	return nil
}

// markInitialized creates the ConfigMap <name>-initialized once.
func (r *CompanionReconciler) markInitialized(ctx context.Context, sts *appsv1.StatefulSet) error {
	marker := mutate.BuildInitializedMarker(sts, time.Now().UTC().Format(time.RFC3339))
	have := &metav1.PartialObjectMetadata{}
	have.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(marker), have)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading ConfigMap %s/%s: %w", marker.Namespace, marker.Name, err)
	}
	if err := r.Client.Create(ctx, marker); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return fmt.Errorf("creating ConfigMap %s/%s: %w", marker.Namespace, marker.Name, err)
	}
	log.FromContext(ctx).Info("the primary has been initialised", "marker", marker.Name)
	r.Recorder.Eventf(sts, marker, corev1.EventTypeNormal, ReasonCreated, "Create",
		"created ConfigMap %s: from now on an empty pod 0 refuses to start as the primary", marker.Name)
	return nil
}

// refusedEmpty returns clone-mysql's termination message when it refused to
// start an empty primary.
func refusedEmpty(pod *corev1.Pod) string {
	for _, st := range pod.Status.InitContainerStatuses {
		if st.Name != contract.CloneMySQLContainer {
			continue
		}
		for _, term := range []*corev1.ContainerStateTerminated{st.State.Terminated, st.LastTerminationState.Terminated} {
			if term != nil && strings.Contains(term.Message, contract.EmptyPrimaryMessage) {
				return strings.TrimSpace(term.Message)
			}
		}
	}
	return ""
}

// ensureCredentials creates the generated credentials Secret once. It only
// ever creates: an existing Secret of that name, generated or the user's,
// is never read, changed or rotated (RBAC allows create only).
//
// The Secret has no owner: like the StatefulSet's PersistentVolumeClaims it
// outlives the StatefulSet, so a StatefulSet deleted and created again over
// the same data finds the passwords its databases hold.
func (r *CompanionReconciler) ensureCredentials(ctx context.Context, sts *appsv1.StatefulSet) error {
	secret, err := mutate.BuildCredentialsSecret(sts, RandomPassword)
	if err != nil {
		return err
	}
	if err := r.Client.Create(ctx, secret); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return fmt.Errorf("creating Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	log.FromContext(ctx).Info("created credentials Secret", "name", secret.Name)
	r.Recorder.Eventf(sts, secret, corev1.EventTypeNormal, ReasonCreated, "Create", "created Secret %s with generated passwords", secret.Name)
	return nil
}

// RandomPassword returns 32 random letters and digits.
func RandomPassword() (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	buf := make([]byte, 32)
	for i := range buf {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("generating a password: %w", err)
		}
		buf[i] = alphabet[n.Int64()]
	}
	return string(buf), nil
}

func (r *CompanionReconciler) ensure(ctx context.Context, sts *appsv1.StatefulSet, want client.Object) error {
	logger := log.FromContext(ctx)
	kind := kindOf(want)
	have := readInto(want)
	err := r.Reader.Get(ctx, types.NamespacedName{Namespace: want.GetNamespace(), Name: want.GetName()}, have)
	switch {
	case apierrors.IsNotFound(err):
		if err := r.Client.Create(ctx, want); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			return fmt.Errorf("creating %s %s/%s: %w", kind, want.GetNamespace(), want.GetName(), err)
		}
		logger.Info("created companion", "kind", kind, "name", want.GetName())
		r.Recorder.Eventf(sts, want, corev1.EventTypeNormal, ReasonCreated, "Create", "created %s %s", kind, want.GetName())
		return nil
	case err != nil:
		return fmt.Errorf("reading %s %s/%s: %w", kind, want.GetNamespace(), want.GetName(), err)
	}
	if problem := unusable(have, sts); problem != "" {
		logger.Info("companion exists but cannot serve; leaving it alone", "kind", kind, "name", have.GetName(), "problem", problem)
		r.Recorder.Eventf(sts, have, corev1.EventTypeWarning, ReasonUnusable, "Check",
			"%s %s exists but %s; it is left as it is: fix or delete it", kind, have.GetName(), problem)
	}
	return nil
}

// readInto returns the object to read an existing companion into: metadata
// only where its existence is all that is checked.
func readInto(want client.Object) client.Object {
	switch want.(type) {
	case *networkingv1.NetworkPolicy:
		have := &metav1.PartialObjectMetadata{}
		have.SetGroupVersionKind(networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"))
		return have
	case *policyv1.PodDisruptionBudget:
		have := &metav1.PartialObjectMetadata{}
		have.SetGroupVersionKind(policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"))
		return have
	case *monitoringv1.PodMonitor:
		have := &metav1.PartialObjectMetadata{}
		have.SetGroupVersionKind(monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.PodMonitorsKind))
		return have
	}
	return want.DeepCopyObject().(client.Object)
}

// unusable says why an existing object cannot serve as the companion, or "".
func unusable(obj client.Object, sts *appsv1.StatefulSet) string {
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		var missing []string
		for _, key := range []string{contract.PrimaryConfigKey, contract.ReplicaConfigKey} {
			if _, ok := o.Data[key]; !ok {
				missing = append(missing, key)
			}
		}
		if len(missing) > 0 {
			return "has no key " + strings.Join(missing, ", ")
		}
	case *corev1.Service:
		if o.Name == mutate.HeadlessServiceName(sts) && o.Spec.ClusterIP != corev1.ClusterIPNone {
			return fmt.Sprintf("is not headless (clusterIP %q, want None), so pods get no DNS names", o.Spec.ClusterIP)
		}
		if len(o.Spec.Selector) == 0 || !labels.SelectorFromSet(o.Spec.Selector).Matches(podLabels(sts, o.Spec.Selector)) {
			return "does not select the StatefulSet's pods"
		}
	}
	return ""
}

// podLabels are the labels of the StatefulSet's pods a Service's selector
// can ask for: the template's and, where it asks for a role, that role,
// which the pod webhook puts on the pods that have it.
func podLabels(sts *appsv1.StatefulSet, selector map[string]string) labels.Set {
	set := labels.Set(maps.Clone(sts.Spec.Template.Labels))
	if set == nil {
		set = labels.Set{}
	}
	if role := selector[contract.RoleLabel]; role == contract.RolePrimary || role == contract.RoleReplica {
		set[contract.RoleLabel] = role
	}
	return set
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *cmapi.Issuer:
		return "Issuer"
	case *cmapi.Certificate:
		return "Certificate"
	case *corev1.ConfigMap:
		return "ConfigMap"
	case *corev1.Service:
		return "Service"
	case *networkingv1.NetworkPolicy:
		return "NetworkPolicy"
	case *policyv1.PodDisruptionBudget:
		return "PodDisruptionBudget"
	case *monitoringv1.PodMonitor:
		return monitoringv1.PodMonitorsKind
	}
	return fmt.Sprintf("%T", obj)
}
