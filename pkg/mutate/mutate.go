// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package mutate turns a plain StatefulSet into a replicated MySQL (or
// MariaDB) StatefulSet and builds its companion objects. It is pure and
// deterministic: no client, no I/O, no clock. The admission handler, the
// reconciler, the offline inject command and the tests all call it.
package mutate

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/profile"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/scripts"
)

// Config holds what the mutation needs beyond the StatefulSet itself.
type Config struct {
	// XtrabackupImage runs clone-mysql and the sidecar of the profiles
	// that ask for it (MySQL 5.7).
	XtrabackupImage string
	// HelperImage carries this project's binary; the profiles that stream
	// backups with it (MariaDB) copy it into the pod.
	HelperImage string
	// ClusterDomain is the cluster's DNS domain, in the fully qualified
	// names by which pods reach each other.
	ClusterDomain string
	// ExporterImage is the Prometheus mysqld_exporter added to the pods of
	// a StatefulSet annotated contract.MetricsAnnotation.
	ExporterImage string
}

// DefaultConfig is the configuration of the tutorial.
func DefaultConfig() Config {
	return Config{XtrabackupImage: contract.DefaultXtrabackupImage, HelperImage: contract.DefaultHelperImage, ClusterDomain: contract.DefaultClusterDomain,
		ExporterImage: contract.DefaultExporterImage}
}

// InputError is an error in the StatefulSet the user wrote; its message says
// what to change, its Reason which part of the object is at fault.
type InputError struct {
	reason Reason
	msg    string
}

func (e *InputError) Error() string { return e.msg }

// Reason says which part of the StatefulSet is at fault.
func (e *InputError) Reason() Reason { return e.reason }

// Reason names the part of a StatefulSet that an InputError is about: a
// short, fixed word, for counting denials (a metric label) rather than
// for reading.
type Reason string

// The reasons of InputErrors.
const (
	ReasonObject      Reason = "object"      // no object at all
	ReasonName        Reason = "name"        // metadata.name or spec.serviceName
	ReasonSelector    Reason = "selector"    // spec.selector
	ReasonOrdinals    Reason = "ordinals"    // spec.ordinals
	ReasonContainers  Reason = "containers"  // no database container
	ReasonServer      Reason = "server"      // the server's flavor and version, or a change of profile
	ReasonCredentials Reason = "credentials" // the root password and the credentials Secret
	ReasonVolumes     Reason = "volumes"     // the data volume and its claim template
	ReasonReadiness   Reason = "readiness"   // the readiness limits' annotations
	ReasonResources   Reason = "resources"   // the injected containers' resource annotations
	ReasonTLS         Reason = "tls"         // the TLS annotations
	ReasonNetwork     Reason = "network"     // the client namespaces' annotation
	ReasonMetrics     Reason = "metrics"     // the metrics annotation
	ReasonUpgrade     Reason = "upgrade"     // the upgrade annotation
	ReasonAdoption    Reason = "adoption"    // labeling a StatefulSet whose servers already run
)

// Reasons lists every Reason.
func Reasons() []Reason {
	return []Reason{ReasonObject, ReasonName, ReasonSelector, ReasonOrdinals, ReasonContainers, ReasonServer,
		ReasonCredentials, ReasonVolumes, ReasonReadiness, ReasonResources, ReasonTLS, ReasonNetwork, ReasonMetrics, ReasonUpgrade, ReasonAdoption}
}

func inputErrorf(reason Reason, format string, args ...any) error {
	return &InputError{reason: reason, msg: fmt.Sprintf(format, args...)}
}

// Enabled reports whether the StatefulSet asks for injection.
func Enabled(sts *appsv1.StatefulSet) bool {
	return sts != nil && sts.Labels[contract.EnabledLabel] == contract.EnabledValue
}

// Result is a completed StatefulSet and the admission warnings that say what
// of the user's own was kept where the webhook would have injected otherwise.
type Result struct {
	StatefulSet *appsv1.StatefulSet
	Warnings    []string
	// Stale: the StatefulSet was completed by an earlier release, and this
	// release would inject something else, which waits for the owner's
	// change or the upgrade annotation.
	Stale bool
}

// Inject returns a completed copy of sts; sts itself is not changed. old is
// the stored object on UPDATE and nil on CREATE: fields that cannot change
// after creation are taken from it. An *InputError is returned for a
// StatefulSet that cannot be completed; then nothing is returned half done.
//
// The pod template of a StatefulSet the webhook completed before changes
// only with a change of its owner's (see ownerChanged) or the upgrade
// annotation: then the webhook's own parts are brought to this release.
// Otherwise the template is kept as stored, and Result.Stale says whether
// this release would inject something else.
func (c Config) Inject(sts, old *appsv1.StatefulSet) (*Result, error) {
	if sts == nil {
		return nil, inputErrorf(ReasonObject, "no StatefulSet given")
	}
	step, err := upgradeAsked(sts)
	if err != nil {
		return nil, err
	}
	out := sts.DeepCopy()
	delete(out.Annotations, contract.UpgradeAnnotation)
	cfg := c.withDefaults()
	inj := injector{cfg: cfg, sts: out, old: old, record: cfg.recordOf(sts, old), parts: map[string]string{}}
	if err := inj.run(); err != nil {
		return nil, err
	}
	res := &Result{StatefulSet: out, Warnings: inj.warnings}
	if completed(old) && !step && !ownerChanged(sts, old) {
		res.Stale = !sameTemplate(out.Spec.Template, sts.Spec.Template)
		out.Spec.Template = *sts.Spec.Template.DeepCopy()
		restoreAnnotation(out, sts, contract.InjectedPartsAnnotation)
		if res.Stale {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the webhook's parts of StatefulSet %q are older than release %s and were left as they are, "+
				"so that no pod restarts: annotate it %s=%s to bring them up to date (its pods restart, replicas first)",
				sts.Name, contract.Release, contract.UpgradeAnnotation, contract.UpgradeNow))
		}
		return res, nil
	}
	res.Warnings = append(res.Warnings, inj.upgradeWarnings()...)
	return res, nil
}

// restoreAnnotation sets out's annotation key as in sts.
func restoreAnnotation(out, sts *appsv1.StatefulSet, key string) {
	if v, ok := sts.Annotations[key]; ok {
		out.Annotations[key] = v
		return
	}
	delete(out.Annotations, key)
}

func (c Config) withDefaults() Config {
	if c.XtrabackupImage == "" {
		c.XtrabackupImage = contract.DefaultXtrabackupImage
	}
	if c.HelperImage == "" {
		c.HelperImage = contract.DefaultHelperImage
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = contract.DefaultClusterDomain
	}
	if c.ExporterImage == "" {
		c.ExporterImage = contract.DefaultExporterImage
	}
	return c
}

type injector struct {
	cfg      Config
	sts, old *appsv1.StatefulSet
	prof     profile.Profile
	creds    credentials
	// nonRoot: the user runs the database container as a non-root user,
	// so the injected containers of the database image do too.
	nonRoot bool
	// metrics: the pods get the exporter (contract.MetricsAnnotation).
	metrics bool
	// resources are the injected containers' requests and limits.
	resources map[string]corev1.ResourceRequirements
	warnings  []string
	// record is the StatefulSet's record of the webhook's parts (nil if
	// none); parts is the record this completion writes.
	record *partRecord
	parts  map[string]string
	// upgradedParts, addedParts and removedParts: the webhook's own parts
	// this completion brought to this release, added to a StatefulSet
	// completed before, or removed.
	upgradedParts, addedParts, removedParts []string
}

func (inj *injector) warnf(format string, args ...any) {
	inj.warnings = append(inj.warnings, fmt.Sprintf(format, args...))
}

func (inj *injector) run() error {
	sts := inj.sts
	if sts.Name == "" {
		return inputErrorf(ReasonName, "metadata.name is required: pod, ConfigMap and Service names are derived from it (generateName is not supported)")
	}
	if errs := validation.IsDNS1123Label(sts.Name); len(errs) > 0 {
		return inputErrorf(ReasonName, "metadata.name %q cannot name pods, labels and Services: %s", sts.Name, strings.Join(errs, "; "))
	}
	if len(sts.Name) > MaxNameLength {
		return inputErrorf(ReasonName, "metadata.name %q is %d characters long: at most %d, so that the pods' controller-revision-hash label "+
			"and the Service %s%s stay within 63 characters", sts.Name, len(sts.Name), MaxNameLength, sts.Name, contract.ReplicasServiceTail)
	}
	inj.serviceName()
	if errs := validation.IsDNS1035Label(sts.Spec.ServiceName); len(errs) > 0 {
		return inputErrorf(ReasonName, "spec.serviceName %q cannot name the headless Service that gives pods their DNS names "+
			"(<pod>.<serviceName>): %s", sts.Spec.ServiceName, strings.Join(errs, "; "))
	}
	if o := sts.Spec.Ordinals; o != nil && o.Start != 0 {
		return inputErrorf(ReasonOrdinals, "spec.ordinals.start is %d: the primary is ordinal 0 and each replica clones ordinal-1; remove spec.ordinals", o.Start)
	}
	spec := &sts.Spec.Template.Spec
	main, err := mainContainer(spec.Containers)
	if err != nil {
		return err
	}
	if inj.prof, err = ProfileOf(sts, spec.Containers[main].Image); err != nil {
		return err
	}
	if err := inj.sameProfile(); err != nil {
		return err
	}
	if _, err := ClientsOf(sts); err != nil {
		return err
	}
	if err := checkTLSAnnotations(sts); err != nil {
		return err
	}
	inj.nonRoot = runsAsNonRoot(spec.SecurityContext, spec.Containers[main].SecurityContext)
	if inj.creds, err = inj.credentials(&spec.Containers[main]); err != nil {
		return err
	}
	if inj.creds.insecure && inj.prof.StreamHelper {
		return inputErrorf(ReasonCredentials, "annotation %s=true with the %s profile: the tutorial's empty root password and replication as root are "+
			"for the tutorial's MySQL 5.7 only; remove the annotation", contract.InsecureTutorialAnnotation, inj.prof.Name)
	}
	maxLag, grace, err := readinessLimits(sts.Annotations)
	if err != nil {
		return err
	}
	if inj.metrics, err = MetricsEnabled(sts); err != nil {
		return err
	}
	if inj.metrics && inj.creds.insecure {
		return inputErrorf(ReasonMetrics, "annotation %s=true with %s=true: the exporter's user needs the credentials Secret; remove one of them",
			contract.MetricsAnnotation, contract.InsecureTutorialAnnotation)
	}
	params := scripts.Params{
		StatefulSet: sts.Name, Service: sts.Spec.ServiceName, ClusterDomain: inj.cfg.ClusterDomain, Profile: inj.prof,
		Credentials: !inj.creds.insecure, MaxLagSeconds: maxLag, ReconnectGraceSeconds: grace, Metrics: inj.metrics,
	}
	rendered := map[string]string{}
	for _, name := range scripts.Names() {
		if rendered[name], err = scripts.Render(name, params); err != nil {
			return inputErrorf(ReasonName, "cannot derive the replication scripts: %v", err)
		}
	}
	if inj.resources, err = injectedResourcesOf(sts.Annotations); err != nil {
		return err
	}
	if err := inj.dataClaim(); err != nil {
		return err
	}
	if err := inj.dataLayout(&spec.Containers[main]); err != nil {
		return err
	}
	if err := inj.adoption(); err != nil {
		return err
	}

	inj.volumes()
	inj.podSecurity()
	inj.gracePeriod()
	inj.spread()
	inj.initContainers(spec.Containers[main], rendered)
	inj.completeMain(&spec.Containers[main], rendered[scripts.Readiness])
	inj.sidecar(spec.Containers[main].Image, rendered[scripts.Sidecar])
	if inj.metrics {
		inj.exporter()
	}
	inj.dropRetired()

	if sts.Spec.Template.Labels == nil {
		sts.Spec.Template.Labels = map[string]string{}
	}
	sts.Spec.Template.Labels[contract.StatefulSetLabel] = sts.Name

	if sts.Annotations == nil {
		sts.Annotations = map[string]string{}
	}
	sts.Annotations[contract.InjectorVersionAnnotation] = contract.InjectorVersion
	sts.Annotations[contract.InjectedPartsAnnotation] = partRecord{Release: contract.Release, Parts: inj.parts}.String()
	return nil
}

// MaxNameLength is the longest StatefulSet name: pods carry the label
// controller-revision-hash=<name>-<hash of up to 10 characters>.
const MaxNameLength = 52

// hasData reports whether the user gave a "data" claim or pod volume.
func hasData(spec *appsv1.StatefulSetSpec) bool {
	return slices.ContainsFunc(spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == contract.DataVolume }) ||
		slices.ContainsFunc(spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == contract.DataVolume })
}

// serviceName defaults spec.serviceName to the StatefulSet's name, or keeps
// the stored one on UPDATE (it cannot change).
func (inj *injector) serviceName() {
	spec := &inj.sts.Spec
	switch {
	case spec.ServiceName != "":
	case inj.old != nil && inj.old.Spec.ServiceName != "":
		spec.ServiceName = inj.old.Spec.ServiceName
	default:
		spec.ServiceName = inj.sts.Name
	}
}

// mainContainer finds the container to complete: the one named "mysql", or
// else the only container.
func mainContainer(containers []corev1.Container) (int, error) {
	for i, c := range containers {
		if c.Name == contract.MySQLContainer {
			return i, nil
		}
	}
	var names []string
	for _, c := range containers {
		if c.Name != contract.SidecarContainer && c.Name != contract.MetricsContainer {
			names = append(names, c.Name)
		}
	}
	if len(names) == 1 {
		return slices.IndexFunc(containers, func(c corev1.Container) bool { return c.Name == names[0] }), nil
	}
	if len(names) == 0 {
		return 0, inputErrorf(ReasonContainers, "spec.template.spec.containers has no database container: add one named %q", contract.MySQLContainer)
	}
	return 0, inputErrorf(ReasonContainers, "spec.template.spec.containers has %d containers (%s) and none is named %q: name the database container %q",
		len(names), strings.Join(names, ", "), contract.MySQLContainer, contract.MySQLContainer)
}

// ProfileOf resolves the server profile of a StatefulSet from its database
// image and the annotations that state the family and version where the
// image cannot tell.
func ProfileOf(sts *appsv1.StatefulSet, image string) (profile.Profile, error) {
	stated := profile.Stated{Family: sts.Annotations[contract.FlavorAnnotation], Version: sts.Annotations[contract.ServerVersionAnnotation]}
	p, err := profile.Resolve(image, stated)
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, profile.ErrUnknownFamily):
		return p, inputErrorf(ReasonServer, "%v: name the server with annotations %s (%q or %q) and %s (for example \"8.4\")",
			err, contract.FlavorAnnotation, profile.MySQL, profile.MariaDB, contract.ServerVersionAnnotation)
	case errors.Is(err, profile.ErrUnknownVersion):
		return p, inputErrorf(ReasonServer, "%v: state it with annotation %s (for example \"8.4\" or \"10.11\")", err, contract.ServerVersionAnnotation)
	case errors.Is(err, profile.ErrBadStatement):
		return p, inputErrorf(ReasonServer, "annotation %s or %s: %v", contract.FlavorAnnotation, contract.ServerVersionAnnotation, err)
	default:
		return p, inputErrorf(ReasonServer, "%v", err)
	}
}

// sameProfile refuses an UPDATE that moves a completed StatefulSet to
// another profile: its data directories, users and replication were made
// by the old one.
func (inj *injector) sameProfile() error {
	old := inj.old
	if old == nil || old.Annotations[contract.InjectorVersionAnnotation] == "" {
		return nil
	}
	i, err := mainContainer(old.Spec.Template.Spec.Containers)
	if err != nil {
		return nil
	}
	was, err := ProfileOf(old, old.Spec.Template.Spec.Containers[i].Image)
	if err != nil || was.Name == inj.prof.Name {
		return nil
	}
	return inputErrorf(ReasonServer, "StatefulSet %q runs the %s profile and this change moves it to %s: "+
		"an existing cluster's data, users and replication cannot change servers in place; "+
		"see \"Upgrades\" in the README (back up, create a new StatefulSet, restore)",
		inj.sts.Name, was.Name, inj.prof.Name)
}

// adoption refuses an UPDATE that completes a StatefulSet whose servers
// already run (it was created without the webhook) in a way that would
// lose or fork data: only a single server is adopted, as the primary, and
// replicas are added once it runs as one. A new pod clones pod 0, which
// serves as a donor only after its restart with the injected containers;
// StatefulSet restarts pod 0 only after every new pod is ready. Several
// independent servers cannot become one cluster: all but one would keep a
// database of their own.
func (inj *injector) adoption() error {
	old := inj.old
	if old == nil || completed(old) {
		return nil
	}
	replicas := func(s *appsv1.StatefulSet) int32 { return ptr.Deref(s.Spec.Replicas, 1) }
	running, want := replicas(old), replicas(inj.sts)
	image := func(s *appsv1.StatefulSet) string {
		if i, err := mainContainer(s.Spec.Template.Spec.Containers); err == nil {
			return s.Spec.Template.Spec.Containers[i].Image
		}
		return ""
	}
	was, now := image(old), image(inj.sts)
	switch {
	case running >= 1 && was != now:
		return inputErrorf(ReasonAdoption, "StatefulSet %q runs a server the webhook has not completed, and this change moves its database "+
			"container from %s to %s: its data directory was written by %s, which is the server to adopt. Label it with the image unchanged, "+
			"and change the image once it runs as the primary (see \"Upgrades\" in the README)", inj.sts.Name, was, now, was)
	case running > 1 && want > 1:
		return inputErrorf(ReasonAdoption, "StatefulSet %q runs %d pods the webhook has not completed, each with a database of its own: only a single "+
			"server can be adopted in place, as the primary. Scale it to 1 in this change, delete the claims of its other pods (%s-%s-1 and up, "+
			"whose data would otherwise be kept apart from the primary's), and raise replicas once pod 0 is ready as the primary",
			inj.sts.Name, running, contract.DataVolume, inj.sts.Name)
	case running >= 1 && want > running:
		return inputErrorf(ReasonAdoption, "StatefulSet %q runs a server the webhook has not completed: label it with replicas unchanged, so that "+
			"pod 0 restarts as the primary, and raise replicas to %d once it is ready (a new pod clones pod 0, which StatefulSet restarts "+
			"only after every new pod is ready)", inj.sts.Name, want)
	}
	return nil
}

// dataClaim adds the "data" volumeClaimTemplate when the user gave neither a
// claim nor a pod volume of that name. volumeClaimTemplates cannot change
// after creation, so on UPDATE the stored claim is kept. A "data" pod volume
// that every pod would share is refused: one pod's clone would write into
// another's live database.
func (inj *injector) dataClaim() error {
	spec := &inj.sts.Spec
	if i := slices.IndexFunc(spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == contract.DataVolume }); i >= 0 {
		v := spec.Template.Spec.Volumes[i]
		if v.EmptyDir == nil && v.Ephemeral == nil {
			return inputErrorf(ReasonVolumes, "pod volume %q would be one volume that every pod of StatefulSet %q shares, and each pod needs a data "+
				"directory of its own: remove it so that the webhook adds a volumeClaimTemplate named %q (one claim per pod), "+
				"write such a volumeClaimTemplate yourself, or use an emptyDir or ephemeral volume", contract.DataVolume, inj.sts.Name, contract.DataVolume)
		}
		inj.warnf("pod volume %q lives only as long as its pod: each time pod 0 is deleted or moved the primary's data is gone, "+
			"and once the StatefulSet has been initialised pod 0 refuses to start empty; use a volumeClaimTemplate named %q for data that must last",
			contract.DataVolume, contract.DataVolume)
	}
	if hasData(spec) {
		return nil
	}
	if inj.old == nil {
		spec.VolumeClaimTemplates = append(spec.VolumeClaimTemplates, defaultDataClaim())
		return nil
	}
	for _, p := range inj.old.Spec.VolumeClaimTemplates {
		if p.Name == contract.DataVolume {
			spec.VolumeClaimTemplates = append(spec.VolumeClaimTemplates, *p.DeepCopy())
			return nil
		}
	}
	return inputErrorf(ReasonVolumes, "StatefulSet %q has no %q volumeClaimTemplate and volumeClaimTemplates cannot change after creation: "+
		"recreate it with the %s=%s label (kubectl delete statefulset %s --cascade=orphan, then apply it again) "+
		"or add an emptyDir or ephemeral pod volume named %q", inj.sts.Name, contract.DataVolume, contract.EnabledLabel, contract.EnabledValue, inj.sts.Name, contract.DataVolume)
}

// dataLayout refuses a database container that mounts its data elsewhere
// than the injected containers look for it: the data volume's DataSubPath
// directory at DataDir. A replica's clone-mysql would write the clone
// where its server does not look, and the server would start empty. One
// other layout is taken and changed: the whole volume at DataDir, as a
// server written without the webhook often mounts it. The container then
// mounts DataSubPath, and clone-mysql moves a data directory it finds at
// the volume's root there, by renames on the volume, before the server
// starts. A StatefulSet the webhook completed before keeps its mounts,
// with a warning, so that it can still be changed and scaled.
func (inj *injector) dataLayout(db *corev1.Container) error {
	for i, m := range db.VolumeMounts {
		at := path.Clean(m.MountPath) == contract.DataDir
		if m.Name == contract.DataVolume && at && m.SubPath == contract.DataSubPath && m.SubPathExpr == "" || m.Name != contract.DataVolume && !at {
			continue
		}
		if m.Name == contract.DataVolume && at && m.SubPath == "" && m.SubPathExpr == "" && !completed(inj.old) {
			db.VolumeMounts[i].SubPath = contract.DataSubPath
			inj.warnf("container %q mounted the whole volume %q at %s; it now mounts the volume's directory %q there, as the injected containers do. "+
				"On each pod's next start, clone-mysql moves a data directory it finds at the volume's root into %q by renames on the volume "+
				"(nothing copied, nothing deleted) before the server starts; lost+found stays at the root",
				db.Name, m.Name, m.MountPath, contract.DataSubPath, contract.DataSubPath)
			continue
		}
		msg := fmt.Sprintf("container %q mounts volume %q at %s (subPath %q): the injected containers find the data directory in the directory %q "+
			"of volume %q, mounted at %s, and a new replica's clone would be written where its server does not look, so that it starts empty",
			db.Name, m.Name, m.MountPath, m.SubPath+m.SubPathExpr, contract.DataSubPath, contract.DataVolume, contract.DataDir)
		if completed(inj.old) {
			inj.warnf("%s", msg)
			return nil
		}
		return inputErrorf(ReasonVolumes, "%s; mount the volume %q at %s, either whole (its data directory at the volume's root is moved into the directory %q) "+
			"or its directory %q (subPath %q), or remove the mount (the webhook adds {name: %s, mountPath: %s, subPath: %s})",
			msg, contract.DataVolume, contract.DataDir, contract.DataSubPath, contract.DataSubPath, contract.DataSubPath, contract.DataVolume, contract.DataDir, contract.DataSubPath)
	}
	return nil
}

func defaultDataClaim() corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{
		ObjectMeta: metaName(contract.DataVolume),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
			},
		},
	}
}

func (inj *injector) volumes() {
	spec := &inj.sts.Spec.Template.Spec
	want := []corev1.Volume{
		{Name: contract.ConfVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: contract.ConfigMapVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName(inj.sts)},
		}}},
		{Name: contract.InitializedVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: InitializedConfigMapName(inj.sts)},
			Optional:             ptr.To(true),
		}}},
	}
	if inj.prof.StreamHelper {
		want = append(want, corev1.Volume{Name: contract.HelperVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	}
	if inj.metrics {
		want = append(want, metricsVolume())
	}
	if inj.prof.TLS {
		// Readable by the database image's group: its mysql user runs the
		// server and the clients (the pod's fsGroup, or a supplemental
		// group the kubelet adds).
		want = append(want, corev1.Volume{Name: contract.TLSVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: TLSSecretName(inj.sts), DefaultMode: ptr.To(int32(0o440)),
		}}})
	}
	for _, v := range want {
		spec.Volumes = keepOrAppend(inj, partVolume, spec.Volumes, v, func(x corev1.Volume) string { return x.Name })
	}
}

// keepOrAppend appends want unless an item of that name exists, which is
// settled (see settle): brought up to date if it is the webhook's own,
// kept and reported if it is a user's that differs from want.
func keepOrAppend[T any](inj *injector, kind string, items []T, want T, name func(T) string) []T {
	key := partKey(kind, name(want))
	i := slices.IndexFunc(items, func(x T) bool { return name(x) == name(want) })
	if i < 0 {
		return append(items, added(inj, key, want))
	}
	items[i] = settle(inj, key, items[i], want)
	return items
}

var (
	confMount        = corev1.VolumeMount{Name: contract.ConfVolume, MountPath: contract.ConfDir}
	dataMount        = corev1.VolumeMount{Name: contract.DataVolume, MountPath: contract.DataDir, SubPath: contract.DataSubPath}
	dataVolumeMount  = corev1.VolumeMount{Name: contract.DataVolume, MountPath: contract.DataVolumeDir}
	helperMount      = corev1.VolumeMount{Name: contract.HelperVolume, MountPath: contract.HelperDir}
	tlsMount         = corev1.VolumeMount{Name: contract.TLSVolume, MountPath: contract.TLSDir, ReadOnly: true}
	initializedMount = corev1.VolumeMount{Name: contract.InitializedVolume, MountPath: contract.InitializedDir, ReadOnly: true}
	scriptCommand    = func(script string) []string { return []string{"bash", "-c", script} }
	containerNamed   = func(c corev1.Container) string { return c.Name }
)

// securityContext is the least an injected container needs: no privilege
// escalation, the runtime's default seccomp profile, and either
//   - the database image's mysql user and no capabilities, where the user
//     runs the database container as non-root (Pod Security "restricted";
//     the storage must apply the pod's fsGroup), or
//   - the image's own user (root) with only the capabilities that the
//     images' entrypoints use too, to own files, drop to the mysql user and
//     stop the server it started (Pod Security "baseline"), which works on
//     any storage; so do the xtrabackup image's tools, which run as root.
func (inj *injector) securityContext(source profile.ImageSource) *corev1.SecurityContext {
	if source == profile.DatabaseImage && inj.nonRoot {
		return restricted(contract.DatabaseUser)
	}
	sc := restricted(0)
	sc.RunAsUser, sc.RunAsGroup, sc.RunAsNonRoot = nil, nil, nil
	sc.Capabilities.Add = []corev1.Capability{"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"}
	return sc
}

// runsAsNonRoot reports whether a container runs as a non-root user by its
// own or its pod's security context.
func runsAsNonRoot(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) bool {
	if c != nil && c.RunAsUser != nil {
		return *c.RunAsUser != 0
	}
	if c != nil && c.RunAsNonRoot != nil {
		return *c.RunAsNonRoot
	}
	if pod != nil && pod.RunAsUser != nil {
		return *pod.RunAsUser != 0
	}
	return pod != nil && pod.RunAsNonRoot != nil && *pod.RunAsNonRoot
}

// restricted is a container security context that Pod Security's
// restricted level admits, running as uid (and gid) user.
func restricted(user int64) *corev1.SecurityContext {
	no, yes := false, true
	return &corev1.SecurityContext{
		RunAsUser:                &user,
		RunAsGroup:               &user,
		RunAsNonRoot:             &yes,
		AllowPrivilegeEscalation: &no,
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// podSecurity gives the pod's volumes to the database image's mysql group,
// so the injected containers that run as its user can write them, unless
// the user chose a group.
func (inj *injector) podSecurity() {
	spec := &inj.sts.Spec.Template.Spec
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.SecurityContext.FSGroup == nil {
		group := int64(contract.DatabaseUser)
		spec.SecurityContext.FSGroup = &group
	}
	// A recursive change of a large data directory's group at every start
	// takes minutes: only when the volume's root is not the group's yet.
	if spec.SecurityContext.FSGroupChangePolicy == nil {
		spec.SecurityContext.FSGroupChangePolicy = ptr.To(corev1.FSGroupChangeOnRootMismatch)
	}
}

// spread prefers nodes without another pod of the StatefulSet, so that a
// node's loss takes one database pod, unless the user placed the pods
// (pod anti-affinity or topology spread constraints: theirs is kept).
func (inj *injector) spread() {
	spec := &inj.sts.Spec.Template.Spec
	want := &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
		Weight: 100,
		PodAffinityTerm: corev1.PodAffinityTerm{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{contract.StatefulSetLabel: inj.sts.Name}},
			TopologyKey:   corev1.LabelHostname,
		},
	}}}
	switch {
	case len(spec.TopologySpreadConstraints) > 0:
		inj.warnf("kept your topologySpreadConstraints; no pod anti-affinity added")
	case spec.Affinity != nil && spec.Affinity.PodAntiAffinity != nil:
		if !covers(spec.Affinity.PodAntiAffinity, want) {
			inj.warnf("kept your podAntiAffinity as written")
		}
	default:
		if spec.Affinity == nil {
			spec.Affinity = &corev1.Affinity{}
		}
		spec.Affinity.PodAntiAffinity = want
	}
}

// podIndexEnv hands the scripts the pod's ordinal from its
// apps.kubernetes.io/pod-index label.
var podIndexEnv = corev1.EnvVar{Name: contract.PodIndexEnv, ValueFrom: &corev1.EnvVarSource{
	FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['" + contract.PodIndexLabel + "']"},
}}

// podNamespaceEnv hands the scripts that name other pods the pod's
// namespace.
var podNamespaceEnv = corev1.EnvVar{Name: contract.PodNamespaceEnv, ValueFrom: &corev1.EnvVarSource{
	FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
}}

// image is the image the profile has an injected container run.
func (inj *injector) image(source profile.ImageSource, dbImage string) string {
	if source == profile.XtrabackupImage {
		return inj.cfg.XtrabackupImage
	}
	return dbImage
}

// followDatabaseImage moves an injected container that ran the stored
// database image to the new one when an UPDATE changes the database image
// (an upgrade within a profile): a server and its clone, init and sidecar
// containers run one version. Nothing else of the container changes.
func (inj *injector) followDatabaseImage(c *corev1.Container, dbImage string) {
	if inj.followsDatabaseImage(c.Image, dbImage) {
		c.Image = dbImage
	}
}

// followsDatabaseImage reports whether an injected container's image is
// the stored database image, which this UPDATE changes to dbImage.
func (inj *injector) followsDatabaseImage(image, dbImage string) bool {
	if !completed(inj.old) {
		return false
	}
	i, err := mainContainer(inj.old.Spec.Template.Spec.Containers)
	if err != nil {
		return false
	}
	was := inj.old.Spec.Template.Spec.Containers[i].Image
	return image == was && was != dbImage
}

// optionFileMounts give a container the database container's option files,
// read-only: the conf emptyDir init-mysql writes, and the user's own
// mounts of option files (a later .cnf in the conf directory). The
// temporary servers of clone-mysql read them, so that they initialise a
// data directory, and write a binary log, as the servers of the pod do. A mount at a path the container mounts
// already is left out.
func optionFileMounts(db corev1.Container, have []corev1.VolumeMount) []corev1.VolumeMount {
	taken := func(mountPath string) bool {
		return slices.ContainsFunc(have, func(m corev1.VolumeMount) bool { return path.Clean(m.MountPath) == path.Clean(mountPath) })
	}
	var mounts []corev1.VolumeMount
	for _, m := range db.VolumeMounts {
		if m.Name == contract.ConfVolume || m.Name == contract.DataVolume || !contract.HoldsOptionFiles(m.MountPath) || taken(m.MountPath) {
			continue
		}
		mounts = append(mounts, corev1.VolumeMount{Name: m.Name, MountPath: m.MountPath, SubPath: m.SubPath, SubPathExpr: m.SubPathExpr, ReadOnly: true})
		have = append(have, m)
	}
	if !taken(contract.ConfDir) {
		mounts = append([]corev1.VolumeMount{{Name: contract.ConfVolume, MountPath: contract.ConfDir, ReadOnly: true}}, mounts...)
	}
	return mounts
}

// passwordEnv is a variable of an injected container from a key of the
// credentials Secret.
func (inj *injector) passwordEnv(name, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: secretRef(inj.creds.secret, key)}
}

// initContainers puts init-mysql, (install-helper,) clone-mysql first, in
// that order, a user's container of the same name taking the injected one's
// place; the user's other init containers follow in their order.
func (inj *injector) initContainers(db corev1.Container, rendered map[string]string) {
	dbImage := db.Image
	want := []corev1.Container{{
		Name:    contract.InitMySQLContainer,
		Image:   dbImage,
		Command: scriptCommand(rendered[scripts.InitMySQL]),
		VolumeMounts: []corev1.VolumeMount{
			{Name: contract.ConfVolume, MountPath: contract.InitConfDir},
			{Name: contract.ConfigMapVolume, MountPath: contract.ConfigMapDir},
		},
	}}
	want[0].Env = []corev1.EnvVar{podIndexEnv, podNamespaceEnv}
	want[0].Resources = inj.resources[contract.InitMySQLContainer]
	if env, ok := memoryEnv(db); ok {
		want[0].Env = append(want[0].Env, env)
	}
	want[0].SecurityContext = inj.securityContext(profile.DatabaseImage)
	if !inj.creds.insecure {
		want[0].Env = append(want[0].Env, inj.creds.root)
	}
	if inj.metrics {
		// It writes the exporter's options, with a password derived from
		// the replication password.
		want[0].Env = append(want[0].Env, inj.passwordEnv(contract.ReplicationPasswordEnv, contract.ReplicationPasswordKey))
		want[0].VolumeMounts = append(want[0].VolumeMounts, corev1.VolumeMount{Name: contract.MetricsVolume, MountPath: contract.InitMetricsDir})
	}
	// The clone is staged beside the data directory and moved into place:
	// clone-mysql sees the whole volume.
	// Its log tail is its termination message, so the reconciler can tell
	// an empty primary that refused to start.
	clone := corev1.Container{
		Name:                     contract.CloneMySQLContainer,
		Image:                    inj.image(inj.prof.CloneImage, dbImage),
		Command:                  scriptCommand(rendered[scripts.CloneMySQL]),
		Env:                      []corev1.EnvVar{podIndexEnv, podNamespaceEnv},
		VolumeMounts:             []corev1.VolumeMount{dataVolumeMount, initializedMount},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		Resources:                inj.resources[contract.CloneMySQLContainer],
	}
	if inj.prof.StreamHelper {
		want = append(want, corev1.Container{
			Name:            contract.HelperInitContainer,
			Image:           inj.cfg.HelperImage,
			Command:         []string{contract.HelperImagePath, "install", contract.HelperPath},
			VolumeMounts:    []corev1.VolumeMount{helperMount},
			SecurityContext: restricted(contract.HelperUser),
			Resources:       inj.resources[contract.HelperInitContainer],
		})
		clone.VolumeMounts = append(clone.VolumeMounts, helperMount)
	}
	if inj.prof.Clone == profile.ClonePlugin && !inj.creds.insecure {
		clone.Env = append(clone.Env, inj.passwordEnv(contract.ClonePasswordEnv, contract.ClonePasswordKey))
	}
	if inj.prof.TLS {
		clone.VolumeMounts = append(clone.VolumeMounts, tlsMount)
	}
	if inj.prof.Replication.ChecksDivergence() && !inj.creds.insecure {
		// It asks the donor candidates, as the replication user, whether
		// they can be the donor.
		clone.Env = append(clone.Env, inj.passwordEnv(contract.ReplicationPasswordEnv, contract.ReplicationPasswordKey))
	}
	if inj.prof.Replication.ChecksDivergence() {
		// The pod template's annotation that lets a diverged replica
		// clone again.
		clone.Env = append(clone.Env, corev1.EnvVar{Name: contract.RecloneEnv, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + contract.RecloneAnnotation + "']"}}})
	}
	if inj.prof.Replication.ChecksDivergence() {
		// Its temporary servers read the pod's option files: CLONE's
		// recipient, and the one that makes a recovered primary's clone
		// the primary's (with the primary's binary log).
		clone.VolumeMounts = append(clone.VolumeMounts, optionFileMounts(db, clone.VolumeMounts)...)
	}
	clone.SecurityContext = inj.securityContext(inj.prof.CloneImage)
	want = append(want, clone)

	spec := &inj.sts.Spec.Template.Spec
	result := make([]corev1.Container, 0, len(want)+len(spec.InitContainers))
	for _, w := range want {
		key := partKey(partInitContainer, w.Name)
		i := slices.IndexFunc(spec.InitContainers, func(c corev1.Container) bool { return c.Name == w.Name })
		if i < 0 {
			result = append(result, added(inj, key, w))
			continue
		}
		// A user's container follows the new image; the webhook's own is
		// replaced with one that runs it.
		have := spec.InitContainers[i]
		if inj.followsDatabaseImage(have.Image, dbImage) && !inj.ours(key, have) {
			inj.followDatabaseImage(&have, dbImage)
		}
		result = append(result, settle(inj, key, have, w))
	}
	for _, c := range spec.InitContainers {
		if !slices.ContainsFunc(want, func(w corev1.Container) bool { return w.Name == c.Name }) {
			result = append(result, c)
		}
	}
	spec.InitContainers = result
}

// memoryEnv hands init-mysql, through the downward API, the memory the
// database container may use, in MiB: its limit, or else its request
// (completeMain asks for one when the container has no resources at all).
// With neither, the downward API would answer the node's memory: no
// variable, and the server keeps its own buffer pool size.
func memoryEnv(db corev1.Container) (corev1.EnvVar, bool) {
	var field string
	switch r := db.Resources; {
	case !r.Limits.Memory().IsZero():
		field = "limits.memory"
	case !r.Requests.Memory().IsZero() || len(r.Requests) == 0 && len(r.Limits) == 0:
		field = "requests.memory"
	default:
		return corev1.EnvVar{}, false
	}
	return corev1.EnvVar{Name: contract.MemoryEnv, ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
		ContainerName: db.Name, Resource: field, Divisor: resource.MustParse("1Mi"),
	}}}, true
}

// passwordVariables are the variables with which a user chooses how the
// image sets the root password; with none of them, the tutorial's empty
// root password is allowed.
var passwordVariables = []string{
	"MYSQL_ROOT_PASSWORD", "MYSQL_ALLOW_EMPTY_PASSWORD", "MYSQL_RANDOM_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD_FILE",
	"MARIADB_ROOT_PASSWORD", "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "MARIADB_RANDOM_ROOT_PASSWORD",
	"MARIADB_ROOT_PASSWORD_HASH", "MARIADB_ROOT_PASSWORD_FILE",
}

func (inj *injector) completeMain(c *corev1.Container, readinessScript string) {
	admin, allowEmpty := inj.prof.Admin, inj.prof.AllowEmptyPasswordVariable
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == contract.PodIndexEnv }) {
		c.Env = append(c.Env, podIndexEnv)
	}
	switch {
	case inj.creds.rootOnDatabase != nil:
		c.Env = append(c.Env, *inj.creds.rootOnDatabase)
	case inj.creds.insecure && !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return slices.Contains(passwordVariables, e.Name) }):
		c.Env = append(c.Env, corev1.EnvVar{Name: allowEmpty, Value: "1"})
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool {
		return p.Name == contract.MySQLPortName || p.ContainerPort == contract.MySQLPort
	}) {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: contract.MySQLPortName, ContainerPort: contract.MySQLPort})
	}
	want := []corev1.VolumeMount{dataMount, confMount}
	if inj.prof.TLS {
		want = append(want, tlsMount)
	}
	c.VolumeMounts = inj.mounts(c.Name, c.VolumeMounts, want...)

	if len(c.Resources.Requests) == 0 && len(c.Resources.Limits) == 0 {
		c.Resources.Requests = corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("500m"),
			corev1.ResourceMemory: resource.MustParse("1Gi"),
		}
	}

	// The startup probe gives the server up to an hour to answer a first
	// ping (crash recovery, the first start after an upgrade); liveness and
	// readiness run only after it, so neither kills a recovering server.
	// The primary is ready when it answers SELECT 1; a replica only while
	// both replication threads run.
	ping := []string{admin, "ping"}
	if !inj.creds.insecure {
		ping = []string{admin, "--defaults-extra-file=" + contract.ClientOptionFile, "ping"}
	}
	c.StartupProbe = inj.probe(c.Name, "startupProbe", c.StartupProbe, execProbe(ping, startupTiming))
	c.LivenessProbe = inj.probe(c.Name, "livenessProbe", c.LivenessProbe, execProbe(ping, livenessTiming))
	c.ReadinessProbe = inj.probe(c.Name, "readinessProbe", c.ReadinessProbe, execProbe(scriptCommand(readinessScript), readinessTiming))
}

// probeTiming is a probe's schedule, in seconds and consecutive failures.
type probeTiming struct{ period, timeout, failures int32 }

var (
	// An hour: 3600 pings 1 s apart. The kubelet probes on its own
	// ticks, so a pod waits up to a period after its server answers: a
	// new replica, and each pod of a new StatefulSet in turn, is Ready
	// that much sooner; the pings stop once one is answered.
	startupTiming = probeTiming{period: 1, timeout: 5, failures: 3600}
	// A server that answered once is restarted only after a minute
	// without an answer within 10 s: an exec probe on a node whose CPU is
	// saturated (a drain moving pods onto it, a storm of restarts) times
	// out before the server is asked, and a server killed for it starts
	// with crash recovery on the same saturated node.
	livenessTiming = probeTiming{period: 10, timeout: 10, failures: 6}
	// A busy server answers within 5 s.
	readinessTiming = probeTiming{period: 5, timeout: 5, failures: 3}
)

// shutdownGrace is the pod's terminationGracePeriodSeconds unless the
// user set one: a server's clean shutdown flushes InnoDB's dirty pages,
// which takes minutes on a large buffer pool; SIGKILL before the end means
// crash recovery at the next start.
const shutdownGrace int64 = 600

// apiDefaultGrace is what the API server writes into a pod template that
// sets no terminationGracePeriodSeconds; the webhook sees it as not set.
const apiDefaultGrace int64 = 30

// gracePeriod gives the pod time for a clean shutdown unless the user chose
// a period.
func (inj *injector) gracePeriod() {
	spec := &inj.sts.Spec.Template.Spec
	if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds == apiDefaultGrace {
		spec.TerminationGracePeriodSeconds = ptr.To(shutdownGrace)
	}
}

// mounts adds each wanted mount unless the container already mounts that
// volume or something at that path.
func (inj *injector) mounts(container string, have []corev1.VolumeMount, want ...corev1.VolumeMount) []corev1.VolumeMount {
	for _, w := range want {
		i := slices.IndexFunc(have, func(m corev1.VolumeMount) bool { return m.Name == w.Name || m.MountPath == w.MountPath })
		if i < 0 {
			have = append(have, w)
			continue
		}
		if !covers(have[i], w) {
			inj.warnf("kept your volume mount %q at %s in container %q as written", have[i].Name, have[i].MountPath, container)
		}
	}
	return have
}

func (inj *injector) probe(container, field string, have, want *corev1.Probe) *corev1.Probe {
	key := probeKey(container, field)
	if have == nil {
		return added(inj, key, want)
	}
	return settle(inj, key, have, want)
}

func execProbe(command []string, t probeTiming) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: command}},
		PeriodSeconds:    t.period,
		TimeoutSeconds:   t.timeout,
		FailureThreshold: t.failures,
	}
}

func (inj *injector) sidecar(dbImage, script string) {
	want := corev1.Container{
		Name:            contract.SidecarContainer,
		Image:           inj.image(inj.prof.SidecarImage, dbImage),
		Command:         scriptCommand(script),
		Env:             []corev1.EnvVar{podIndexEnv, podNamespaceEnv},
		VolumeMounts:    []corev1.VolumeMount{dataMount, confMount},
		SecurityContext: inj.securityContext(inj.prof.SidecarImage),
		Resources:       inj.resources[contract.SidecarContainer],
	}
	if !inj.creds.insecure {
		want.Env = append(want.Env, inj.passwordEnv(contract.ReplicationPasswordEnv, contract.ReplicationPasswordKey))
	}
	if inj.prof.TLS {
		want.VolumeMounts = append(want.VolumeMounts, tlsMount)
	}
	switch inj.prof.Clone {
	case profile.CloneBackupStream:
		// It serves backups to the next pod.
		want.Ports = []corev1.ContainerPort{{Name: contract.BackupPortName, ContainerPort: contract.BackupPort}}
		if inj.prof.StreamHelper {
			want.VolumeMounts = append(want.VolumeMounts, helperMount)
		}
	case profile.ClonePlugin:
		// Replicas clone over the MySQL port: no port to serve; on the
		// primary it needs the clone user's password.
		if !inj.creds.insecure {
			want.Env = append(want.Env, inj.passwordEnv(contract.ClonePasswordEnv, contract.ClonePasswordKey))
		}
	}
	spec := &inj.sts.Spec.Template.Spec
	if i := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == contract.SidecarContainer }); i >= 0 &&
		inj.followsDatabaseImage(spec.Containers[i].Image, dbImage) && !inj.ours(partKey(partContainer, contract.SidecarContainer), spec.Containers[i]) {
		inj.followDatabaseImage(&spec.Containers[i], dbImage)
	}
	spec.Containers = keepOrAppend(inj, partContainer, spec.Containers, want, containerNamed)
}
