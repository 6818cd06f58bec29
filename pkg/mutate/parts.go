// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/cespare/xxhash/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// The webhook records, in contract.InjectedPartsAnnotation, a digest of
// each part it put into a StatefulSet: an init container, a container, a
// volume or a probe of the database container. On a later completion a
// part whose digest still matches its record is the webhook's, and is
// brought to this release's content; a part that differs is the user's,
// and is kept as written.
//
// Only a change the StatefulSet's owner makes brings the parts up to date
// (a change of the pod template or of this project's annotations, or the
// annotation contract.UpgradeAnnotation): a new release never restarts
// pods by itself.

// partRecord is the value of contract.InjectedPartsAnnotation.
type partRecord struct {
	// Release is the release that last completed the StatefulSet.
	Release string `json:"release"`
	// Parts maps a part's key (kind/name) to its digest.
	Parts map[string]string `json:"parts"`
}

// readRecord returns the StatefulSet's record of injected parts; nil where
// it has none. An unreadable record is no record: every part is then kept
// as the user's, which loses nothing.
func readRecord(annotations map[string]string) *partRecord {
	raw, ok := annotations[contract.InjectedPartsAnnotation]
	if !ok {
		return nil
	}
	var r partRecord
	if err := json.Unmarshal([]byte(raw), &r); err != nil || r.Parts == nil {
		return nil
	}
	return &r
}

func (r partRecord) String() string {
	raw, err := json.Marshal(r)
	if err != nil {
		// A struct of strings and a map of strings always marshals.
		panic(fmt.Sprintf("marshalling the record of injected parts: %v", err))
	}
	return string(raw)
}

// The kinds of part, in part keys and in warnings.
const (
	partInitContainer = "init container"
	partContainer     = "container"
	partVolume        = "volume"
)

// kindKey is a kind of part as a part key spells it.
func kindKey(kind string) string { return strings.ReplaceAll(kind, " ", "-") }

// partKey names a part in the record: its kind and name.
func partKey(kind, name string) string { return kindKey(kind) + "/" + name }

func probeKey(container, field string) string { return "probe/" + container + "/" + field }

// apiDefaults are the fields the API server fills into the webhook's parts
// where they are not set, with the value it writes; nil where the webhook
// never sets the field, whatever its value. A digest leaves them out, so
// that a part as stored has the digest of the part as injected.
var apiDefaults = map[string]any{
	"imagePullPolicy":          nil,
	"terminationMessagePath":   nil,
	"terminationMessagePolicy": string(corev1.TerminationMessageReadFile),
	"protocol":                 string(corev1.ProtocolTCP),
	"apiVersion":               "v1",
	"defaultMode":              float64(corev1.ConfigMapVolumeSourceDefaultMode),
	"successThreshold":         float64(1),
	"timeoutSeconds":           float64(1),
	"periodSeconds":            float64(10),
	"failureThreshold":         float64(3),
}

// PartDigest is the digest by which the record of injected parts knows a
// part (a container, a volume or a probe): of its content without the
// fields the API server defaults.
func PartDigest(v any) string { return partDigest(v) }

// WithoutAPIDefaults is v as generic JSON (maps, slices, values) without
// the fields the API server defaults in the webhook's parts, the form
// their digests are taken of; nil where v does not marshal.
func WithoutAPIDefaults(v any) any {
	g, err := toGeneric(v)
	if err != nil {
		return nil
	}
	return withoutDefaults(g)
}

// partDigest is the digest of a part, without the API server's defaults:
// the SHA-256 of the JSON of the part as normalized (its first 64 bits, in
// hex). A part of another type is read through JSON, more slowly.
func partDigest(v any) string {
	var normalized any
	switch p := v.(type) {
	case corev1.Container:
		normalized = normalContainer(p)
	case corev1.Volume:
		normalized = normalVolume(p)
	case *corev1.Probe:
		normalized = normalProbe(p)
	default:
		normalized = WithoutAPIDefaults(v)
	}
	raw, err := json.Marshal(normalized)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8])
}

// normalContainer is c without the fields apiDefaults names (their typed
// form: the same fields, at the same defaults).
func normalContainer(c corev1.Container) corev1.Container {
	c.ImagePullPolicy, c.TerminationMessagePath = "", ""
	if c.TerminationMessagePolicy == corev1.TerminationMessageReadFile {
		c.TerminationMessagePolicy = ""
	}
	if slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Protocol == corev1.ProtocolTCP }) {
		c.Ports = slices.Clone(c.Ports)
		for i := range c.Ports {
			if c.Ports[i].Protocol == corev1.ProtocolTCP {
				c.Ports[i].Protocol = ""
			}
		}
	}
	if slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.ValueFrom != nil && e.ValueFrom.FieldRef != nil }) {
		c.Env = slices.Clone(c.Env)
		for i, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.APIVersion == "v1" {
				from, ref := *e.ValueFrom, *e.ValueFrom.FieldRef
				ref.APIVersion = ""
				from.FieldRef = &ref
				c.Env[i].ValueFrom = &from
			}
		}
	}
	c.StartupProbe, c.LivenessProbe, c.ReadinessProbe = normalProbe(c.StartupProbe), normalProbe(c.LivenessProbe), normalProbe(c.ReadinessProbe)
	c.Command, c.Args = hashedLong(c.Command), hashedLong(c.Args)
	return c
}

// longString is the length from which a command's argument (a script)
// enters a digest as its own 64-bit xxHash: hashing its bytes is many
// times faster than escaping them into JSON, and admission pays for it.
// (A digest tells the webhook's parts from the owner's edits of their own
// object: it guards against no one.)
const longString = 256

// hashedLong is args with each long argument replaced by its xxHash.
func hashedLong(args []string) []string {
	if !slices.ContainsFunc(args, func(a string) bool { return len(a) >= longString }) {
		return args
	}
	out := slices.Clone(args)
	for i, a := range out {
		if len(a) >= longString {
			out[i] = fmt.Sprintf("xxh64:%016x", xxhash.Sum64String(a))
		}
	}
	return out
}

func normalProbe(p *corev1.Probe) *corev1.Probe {
	if p == nil {
		return nil
	}
	out := *p
	if out.Exec != nil {
		out.Exec = &corev1.ExecAction{Command: hashedLong(out.Exec.Command)}
	}
	for _, f := range []struct {
		field *int32
		def   int32
	}{{&out.SuccessThreshold, 1}, {&out.TimeoutSeconds, 1}, {&out.PeriodSeconds, 10}, {&out.FailureThreshold, 3}} {
		if *f.field == f.def {
			*f.field = 0
		}
	}
	return &out
}

func normalVolume(v corev1.Volume) corev1.Volume {
	defaultMode := func(mode *int32) *int32 {
		if mode != nil && *mode == corev1.ConfigMapVolumeSourceDefaultMode {
			return nil
		}
		return mode
	}
	if v.ConfigMap != nil {
		cm := *v.ConfigMap
		cm.DefaultMode = defaultMode(cm.DefaultMode)
		v.ConfigMap = &cm
	}
	if v.Secret != nil {
		secret := *v.Secret
		secret.DefaultMode = defaultMode(secret.DefaultMode)
		v.Secret = &secret
	}
	return v
}

func withoutDefaults(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if def, ok := apiDefaults[k]; ok && (def == nil || def == val) {
				continue
			}
			out[k] = withoutDefaults(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = withoutDefaults(x[i])
		}
		return out
	default:
		return v
	}
}

// setByWebhook are the top-level fields of a part that the webhook writes;
// an upgraded part takes them from this release and keeps every other
// field as stored (the API server's defaults, and what the user added,
// such as imagePullPolicy or a lifecycle hook).
var setByWebhook = []string{
	// containers
	"name", "image", "command", "args", "env", "volumeMounts", "ports", "securityContext", "resources", "terminationMessagePolicy",
	// volumes
	"emptyDir", "configMap", "secret", "projected", "downwardAPI", "ephemeral",
	// probes
	"exec", "httpGet", "tcpSocket", "grpc", "initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold",
}

// objects are two parts as generic JSON objects; ok is false where either
// is not an object.
func objects(a, b any) (am, bm map[string]any, ok bool) {
	ga, errA := toGeneric(a)
	gb, errB := toGeneric(b)
	am, okA := ga.(map[string]any)
	bm, okB := gb.(map[string]any)
	return am, bm, errA == nil && errB == nil && okA && okB
}

// upgraded is want with the fields of have that the webhook does not write.
func upgraded[T any](have, want T) T {
	hm, wm, ok := objects(have, want)
	if !ok {
		return want
	}
	for k, v := range hm {
		if _, set := wm[k]; !set && !slices.Contains(setByWebhook, k) {
			wm[k] = v
		}
	}
	raw, err := json.Marshal(wm)
	if err != nil {
		return want
	}
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		return want
	}
	return out
}

// ours reports whether a part is the one the webhook recorded.
func (inj *injector) ours(key string, have any) bool {
	d, ok := inj.recorded(key)
	return ok && d == partDigest(have)
}

// recorded is the digest the record holds for a key, so that deciding and
// noting hash a part once.
func (inj *injector) recorded(key string) (string, bool) {
	if inj.record == nil {
		return "", false
	}
	d, ok := inj.record.Parts[key]
	return d, ok
}

// note records the digest of a part the webhook now owns.
func (inj *injector) note(key string, v any) { inj.parts[key] = partDigest(v) }

// added records a part the webhook puts where there was none.
func added[T any](inj *injector, key string, want T) T {
	inj.note(key, want)
	if completed(inj.old) {
		inj.addedParts = append(inj.addedParts, partName(key))
	}
	return want
}

// partName says which part a key names, as warnings do.
func partName(key string) string {
	kind, name, _ := strings.Cut(key, "/")
	if kind == "probe" {
		container, field, _ := strings.Cut(name, "/")
		return fmt.Sprintf("%s of container %q", field, container)
	}
	return fmt.Sprintf("%s %q", strings.ReplaceAll(kind, "-", " "), name)
}

// settle decides what becomes of an existing part: one that holds what
// this release injects stays (and is the webhook's from now on); the
// webhook's own recorded part is brought to this release; a user's part
// is kept as written, with a warning.
func settle[T any](inj *injector, key string, have, want T) T {
	haveDigest := partDigest(have)
	recorded, ok := inj.recorded(key)
	switch {
	case covers(have, want):
		inj.parts[key] = haveDigest
		return have
	case ok && recorded == haveDigest:
		placed := upgraded(have, want)
		inj.note(key, placed)
		if !onlyImageDiffers(have, want) {
			inj.upgradedParts = append(inj.upgradedParts, partName(key))
		}
		return placed
	default:
		inj.warnf("kept your %s as written; it differs from the one the webhook injects", partName(key))
		return have
	}
}

// onlyImageDiffers reports whether have holds what want sets but for the
// image: a part that follows the database container's new image, not one
// of an earlier release.
func onlyImageDiffers(have, want any) bool {
	hm, wm, ok := objects(have, want)
	if !ok {
		return false
	}
	if image, ok := wm["image"]; ok {
		hm["image"] = image
	}
	return subset(wm, hm)
}

// dropRetired removes the webhook's recorded containers, init containers
// and volumes that this completion no longer injects (the exporter once
// the metrics annotation is gone, a part an earlier release injected).
func (inj *injector) dropRetired() {
	if inj.record == nil {
		return
	}
	spec := &inj.sts.Spec.Template.Spec
	retired := func(kind, name string, v any) bool {
		key := partKey(kind, name)
		if _, kept := inj.parts[key]; kept || !inj.ours(key, v) {
			return false
		}
		inj.removedParts = append(inj.removedParts, partName(key))
		return true
	}
	spec.InitContainers = slices.DeleteFunc(spec.InitContainers, func(c corev1.Container) bool { return retired(partInitContainer, c.Name, c) })
	spec.Containers = slices.DeleteFunc(spec.Containers, func(c corev1.Container) bool { return retired(partContainer, c.Name, c) })
	spec.Volumes = slices.DeleteFunc(spec.Volumes, func(v corev1.Volume) bool { return retired(partVolume, v.Name, v) })
}

// upgradeAsked reports whether the StatefulSet carries the upgrade step.
func upgradeAsked(sts *appsv1.StatefulSet) (bool, error) {
	v, ok := sts.Annotations[contract.UpgradeAnnotation]
	if !ok {
		return false, nil
	}
	if v != contract.UpgradeNow {
		return false, inputErrorf(ReasonUpgrade, "annotation %s=%q: use %q to bring the webhook's parts to release %s (the pods restart), or remove it",
			contract.UpgradeAnnotation, v, contract.UpgradeNow, contract.Release)
	}
	return true, nil
}

// completed reports whether the webhook has completed the stored object.
func completed(old *appsv1.StatefulSet) bool {
	return old != nil && old.Annotations[contract.InjectorVersionAnnotation] != ""
}

// bookkeeping are the annotations the webhook itself writes on a completed
// StatefulSet: not the owner's changes.
var bookkeeping = []string{contract.InjectorVersionAnnotation, contract.InjectedPartsAnnotation, contract.UpgradeAnnotation}

// ownerChanged reports whether an UPDATE of a completed StatefulSet changes
// what its pods run: the pod template, or one of this project's
// annotations, which the completion reads. Such a change rolls the pods
// anyway, so the webhook's parts are brought up to date with it; an UPDATE
// that changes neither (a scale, a label) leaves the pods as they are.
func ownerChanged(sts, old *appsv1.StatefulSet) bool {
	if !sameTemplate(sts.Spec.Template, old.Spec.Template) {
		return true
	}
	project := func(annotations map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range annotations {
			if strings.HasPrefix(k, contract.AnnotationPrefix) && !slices.Contains(bookkeeping, k) {
				out[k] = v
			}
		}
		return out
	}
	return !equality.Semantic.DeepEqual(project(sts.Annotations), project(old.Annotations))
}

// sameTemplate reports whether two pod templates are semantically equal;
// reflect.DeepEqual answers the common case several times faster.
func sameTemplate(a, b corev1.PodTemplateSpec) bool {
	return reflect.DeepEqual(a, b) || equality.Semantic.DeepEqual(a, b)
}

// upgradeWarnings say what this completion changed of the webhook's own
// parts.
func (inj *injector) upgradeWarnings() []string {
	var out []string
	if len(inj.upgradedParts) > 0 {
		sort.Strings(inj.upgradedParts)
		out = append(out, fmt.Sprintf("brought the webhook's %s to release %s", strings.Join(inj.upgradedParts, ", "), contract.Release))
	}
	if len(inj.addedParts) > 0 {
		sort.Strings(inj.addedParts)
		out = append(out, fmt.Sprintf("added the webhook's %s of release %s", strings.Join(inj.addedParts, ", "), contract.Release))
	}
	if len(inj.removedParts) > 0 {
		sort.Strings(inj.removedParts)
		out = append(out, fmt.Sprintf("removed the webhook's %s, which release %s no longer injects", strings.Join(inj.removedParts, ", "), contract.Release))
	}
	return out
}

// StaleInjection reports whether a StatefulSet the webhook completed, as
// stored, has webhook parts that this configuration would inject
// otherwise: parts that wait for the owner's change or the upgrade
// annotation.
func (c Config) StaleInjection(sts *appsv1.StatefulSet) bool {
	if !completed(sts) {
		return false
	}
	res, err := c.Inject(sts, sts)
	return err == nil && res.Stale
}

// DriftedParts lists, sorted, the recorded parts of a StatefulSet that no
// longer hold what the record says the webhook put there: edited since
// (they are the user's now) or gone. It is empty for a StatefulSet as the
// webhook completed it and the API server stored it, and nil for one
// without a record.
func DriftedParts(sts *appsv1.StatefulSet) []string {
	rec := readRecord(sts.Annotations)
	if rec == nil {
		return nil
	}
	drifted := []string{}
	for key, digest := range rec.Parts {
		if part, ok := partAt(&sts.Spec.Template.Spec, key); !ok || partDigest(part) != digest {
			drifted = append(drifted, key)
		}
	}
	sort.Strings(drifted)
	return drifted
}

// partAt finds the part a record's key names.
func partAt(spec *corev1.PodSpec, key string) (any, bool) {
	kind, name, _ := strings.Cut(key, "/")
	named := func(c corev1.Container) bool { return c.Name == name }
	switch kind {
	case kindKey(partInitContainer):
		return findIn(spec.InitContainers, named)
	case kindKey(partContainer):
		return findIn(spec.Containers, named)
	case kindKey(partVolume):
		return findIn(spec.Volumes, func(v corev1.Volume) bool { return v.Name == name })
	case "probe":
		container, field, _ := strings.Cut(name, "/")
		c, ok := findIn(spec.Containers, func(c corev1.Container) bool { return c.Name == container })
		if !ok {
			return nil, false
		}
		probe := probesOf(c)[field]
		return probe, probe != nil
	}
	return nil, false
}

// probesOf are a container's probes, by the field that holds each, as
// probe keys name them.
func probesOf(c corev1.Container) map[string]*corev1.Probe {
	return map[string]*corev1.Probe{"startupProbe": c.StartupProbe, "livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe}
}

func findIn[T any](items []T, match func(T) bool) (T, bool) {
	if i := slices.IndexFunc(items, match); i >= 0 {
		return items[i], true
	}
	var zero T
	return zero, false
}
