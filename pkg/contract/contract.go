// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Package contract is the one home of every name the webhook, the
// controller, the pods' scripts and the user share: labels, annotations,
// the names of injected containers, volumes, environment variables, ports,
// paths, ConfigMap and Secret keys, and the tails that name companion
// objects after their StatefulSet. It is the same for every server profile.
// Code imports these names; the scripts receive them as template values.
package contract

import (
	"path"
	"strings"
)

// The release.
const (
	// Release is this project's version; the default helper image is its
	// image of this release, never a moving tag.
	Release = "v0.2.0"
	// InjectorVersion is the value of InjectorVersionAnnotation: the
	// version of the mutation that completed a StatefulSet.
	InjectorVersion = "1"
)

// DefaultClusterDomain is the cluster's DNS domain where none is
// configured: pods are <pod>.<service>.<namespace>.svc.<domain>.
const DefaultClusterDomain = "cluster.local"

// Default images: pinned versions.
const (
	DefaultXtrabackupImage = "gcr.io/google-samples/xtrabackup:1.0"
	DefaultHelperImage     = "mysql-replication-webhook:" + Release
	// DefaultExporterImage is the Prometheus mysqld_exporter injected for
	// MetricsAnnotation.
	DefaultExporterImage = "prom/mysqld-exporter:v0.17.2"
)

// Labels and annotations a user sets on a StatefulSet.
const (
	// EnabledLabel on a StatefulSet, with value EnabledValue, asks for injection.
	EnabledLabel = "mysql-replication"
	EnabledValue = "enabled"

	// FlavorAnnotation states the server family ("mysql" or "mariadb") where
	// the image name does not tell.
	FlavorAnnotation = "mysql-replication.io/flavor"
	// ServerVersionAnnotation states the server version ("8.4", "10.11")
	// where the image tag does not tell (a digest, a private image).
	ServerVersionAnnotation = "mysql-replication.io/server-version"
	// CredentialsSecretAnnotation names the user's own credentials Secret
	// (keys RootPasswordKey, ReplicationPasswordKey and ClonePasswordKey)
	// instead of the generated <name>-credentials.
	CredentialsSecretAnnotation = "mysql-replication.io/credentials-secret"
	// InsecureTutorialAnnotation, set to "true", keeps the tutorial's empty
	// root password and replication as root.
	InsecureTutorialAnnotation = "mysql-replication.io/insecure-tutorial-credentials"
	// ClientNamespacesAnnotation opens the MySQL port of the StatefulSet's
	// pods, which its NetworkPolicy admits from its own namespace only, to
	// more namespaces (a comma-separated list of names), or to every source
	// (AllClients).
	ClientNamespacesAnnotation = "mysql-replication.io/client-namespaces"
	AllClients                 = "*"
	// TLSSecretAnnotation names the user's own Secret of the pods'
	// certificates (keys ca.crt, tls.crt, tls.key) instead of <name>-tls,
	// which the controller has cert-manager issue.
	TLSSecretAnnotation = "mysql-replication.io/tls-secret"
	// TLSIssuerAnnotation names the cert-manager issuer of <name>-tls
	// ("NAME" for an Issuer of the namespace, "ClusterIssuer/NAME") instead
	// of the StatefulSet's own certificate authority.
	TLSIssuerAnnotation = "mysql-replication.io/tls-issuer"
	// RecloneAnnotation, on the pod template, set to RecloneOnDivergence,
	// lets a replica whose sidecar refused to replicate (it diverged from
	// the primary) clone again at its next start; its old data directory
	// is moved aside, never deleted.
	RecloneAnnotation   = "mysql-replication.io/reclone"
	RecloneOnDivergence = "on-divergence"
	// MaxLagAnnotation is the most seconds a replica may apply behind its
	// primary and stay ready; ReconnectGraceAnnotation is how many seconds
	// a replica whose primary does not answer stays ready (a primary's
	// restart does not empty the replicas' Service).
	MaxLagAnnotation         = "mysql-replication.io/max-lag-seconds"
	ReconnectGraceAnnotation = "mysql-replication.io/reconnect-grace-seconds"
	// MetricsAnnotation, set to "true", adds the MetricsContainer sidecar,
	// a Prometheus mysqld_exporter on MetricsPort, to every pod.
	MetricsAnnotation = "mysql-replication.io/metrics"
)

// ResourceAnnotation is the StatefulSet annotation that sets one request or
// limit of an injected container, as
// mysql-replication.io/<container>-<cpu|memory>-<request|limit>
// (mysql-replication.io/xtrabackup-memory-limit: 1Gi).
func ResourceAnnotation(container, resource, kind string) string {
	return "mysql-replication.io/" + container + "-" + resource + "-" + kind
}

// Labels and annotations the webhook sets.
const (
	// InjectorVersionAnnotation marks a StatefulSet the webhook has completed.
	InjectorVersionAnnotation = "mysql-replication.io/injector-version"
	// InjectedPartsAnnotation records, at each completion, the release and
	// a digest of each part the webhook put into the StatefulSet, so that a
	// later release tells its own parts (which it may bring up to date)
	// from the user's (which it keeps).
	InjectedPartsAnnotation = "mysql-replication.io/injected"
	// UpgradeAnnotation=UpgradeNow asks the webhook to bring the parts it
	// injected to the running release; it acts on it and removes it.
	UpgradeAnnotation = "mysql-replication.io/upgrade"
	UpgradeNow        = "now"
	// AnnotationPrefix starts every annotation of this project.
	AnnotationPrefix = "mysql-replication.io/"
	// StatefulSetLabel is put on the pod template, so every pod names its
	// StatefulSet; the pod webhook selects on it.
	StatefulSetLabel = "mysql-replication.io/statefulset"
	// RoleLabel on a pod says RolePrimary (ordinal 0) or RoleReplica.
	RoleLabel   = "mysql-replication.io/role"
	RolePrimary = "primary"
	RoleReplica = "replica"
	// PodIndexLabel is set on StatefulSet pods by Kubernetes 1.28 and later.
	PodIndexLabel = "apps.kubernetes.io/pod-index"
	// TooLargeToCacheAnnotation is never stored: the controller's cache
	// puts it on its copy of a StatefulSet whose labels, selectors and
	// annotations it reads are too large to keep, with their size.
	TooLargeToCacheAnnotation = "mysql-replication.io/too-large-to-cache"
	// StaleInjectionAnnotation is never stored either: the controller's
	// cache puts it on its copy of a completed StatefulSet whose webhook
	// parts the running release would inject otherwise.
	StaleInjectionAnnotation = "mysql-replication.io/stale-injection"
)

// Recommended labels of the companion objects, and their values.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelPartOf    = "app.kubernetes.io/part-of"

	// AppName is the app.kubernetes.io/name of companions.
	AppName = "mysql"
	// ManagedBy is the app.kubernetes.io/managed-by value of created companions.
	ManagedBy = "mysql-replication-webhook"

	// Components named in the app.kubernetes.io/component label.
	ComponentConfig   = "config"
	ComponentHeadless = "headless"
	ComponentRead     = "read"
	ComponentPrimary  = "primary"
	ComponentReplicas = "replicas"
	ComponentSecret   = "credentials"
	// ComponentInitialized marks the ConfigMap that records that the
	// StatefulSet's primary has been initialised.
	ComponentInitialized = "initialized"
	// ComponentBackup marks the NetworkPolicy that guards the backup port.
	ComponentBackup = "backup"
	// ComponentMetrics marks the NetworkPolicy that opens the exporter's
	// port (MetricsAnnotation), and the PodMonitor that has the Prometheus
	// Operator scrape it.
	ComponentMetrics = "metrics"
	// ComponentDisruption marks the PodDisruptionBudget of the pods.
	ComponentDisruption = "disruption-budget"
	// ComponentTLS marks the cert-manager issuers and certificates of the
	// pods' TLS.
	ComponentTLS = "tls"
)

// Tails that name a companion after its StatefulSet: <name><tail>.
const (
	ReadServiceTail         = "-read"
	PrimaryServiceTail      = "-primary"
	ReplicasServiceTail     = "-replicas"
	CredentialsSecretTail   = "-credentials"
	BackupNetworkPolicyTail = "-backup"
	// MetricsTail names the NetworkPolicy that opens the exporter's port
	// to the cluster's scrapers, and the PodMonitor of the exporters.
	MetricsTail = "-metrics"
	// InitializedTail names the ConfigMap <name>-initialized, which exists
	// once the StatefulSet's primary has been ready.
	InitializedTail = "-initialized"
	// TLSSecretTail names the Secret of the pods' certificates, CATail the
	// StatefulSet's certificate authority (its cert-manager Certificate,
	// Secret and Issuer), SelfSignedIssuerTail the issuer that signs it.
	TLSSecretTail        = "-tls"
	CATail               = "-ca"
	SelfSignedIssuerTail = "-selfsigned"
)

// Credentials: the keys of the credentials Secret and the database users.
const (
	RootPasswordKey        = "root-password"
	ReplicationPasswordKey = "replication-password"
	ClonePasswordKey       = "clone-password"
	// MaxPasswordLength is the longest password the scripts take: once
	// escaped, the root password must fit a line of the client option
	// file, which the clients read in lines of 4096 bytes. Servers may take
	// less (profile.Profile.MaxPasswordLength).
	MaxPasswordLength = 1024
	// ReplicationUser is the user replicas replicate as; it has only the
	// replication privileges.
	ReplicationUser = "replication"
	// CloneUser is the user a replica of the clone-plugin profile clones
	// as; it has only BACKUP_ADMIN.
	CloneUser = "clone"
	// MetricsUser is the user the exporter of MetricsAnnotation reads
	// the server's status as, from 127.0.0.1 only, with the privileges
	// of the profile's MetricsGrant and at most 3 connections. Its
	// password is derived from the replication password (a SHA-256 of
	// it), so it needs no key of its own in the credentials Secret and
	// does not reveal the replication password.
	MetricsUser = "metrics"
)

// Names of what is injected into the pod template.
const (
	MySQLContainer      = "mysql"
	SidecarContainer    = "xtrabackup"
	InitMySQLContainer  = "init-mysql"
	CloneMySQLContainer = "clone-mysql"
	HelperInitContainer = "install-helper"
	MetricsContainer    = "mysqld-exporter"

	ConfVolume      = "conf"
	ConfigMapVolume = "config-map"
	DataVolume      = "data"
	HelperVolume    = "helper"
	// TLSVolume is the Secret of the pods' certificates.
	TLSVolume = "tls"
	// InitializedVolume is the optional ConfigMap <name>-initialized,
	// which tells clone-mysql that an empty primary lost its data.
	InitializedVolume = "initialized"
	// MetricsVolume holds the exporter's option file, which init-mysql
	// writes (a memory emptyDir).
	MetricsVolume = "metrics"

	MySQLPortName   = "mysql"
	BackupPortName  = "xtrabackup"
	MetricsPortName = "metrics"
)

// Ports.
const (
	// MySQLPort is the database's client port; BackupPort is where the
	// backup-stream profiles serve backups to the next pod.
	MySQLPort  = 3306
	BackupPort = 3307
	// MetricsPort is where the exporter of MetricsAnnotation serves
	// /metrics (the exporter's own default).
	MetricsPort = 9104
)

// Environment variables of the injected containers.
const (
	// PodIndexEnv carries the pod's apps.kubernetes.io/pod-index label
	// into every container that runs a script, through the downward API.
	PodIndexEnv = "POD_INDEX"
	// PodNamespaceEnv carries the pod's namespace, through the downward
	// API, into the containers that name other pods.
	PodNamespaceEnv = "POD_NAMESPACE"
	// RootPasswordEnv carries the root password into init-mysql, which writes
	// it to the client option file of the other containers.
	RootPasswordEnv = "ROOT_PASSWORD"
	// ReplicationPasswordEnv carries the replication user's password into the
	// sidecar, which creates the user on the primary and replicates with
	// it, and into the backup stream helper, which proves it to its peer.
	ReplicationPasswordEnv = "REPLICATION_PASSWORD"
	// ClonePasswordEnv carries the clone user's password into clone-mysql
	// and the primary's sidecar of the clone-plugin profile.
	ClonePasswordEnv = "CLONE_PASSWORD"
	// RecloneEnv carries the pod's RecloneAnnotation into clone-mysql,
	// through the downward API.
	RecloneEnv = "RECLONE"
	// MemoryEnv carries the database container's memory limit (or
	// request), in MiB, into init-mysql through the downward API.
	MemoryEnv = "DATABASE_MEMORY_MIB"
)

// Paths in the pod, files and markers.
const (
	// DataDir is where the database containers mount the data volume
	// (its DataSubPath directory).
	DataDir     = "/var/lib/mysql"
	DataSubPath = "mysql"
	// DataVolumeDir is where clone-mysql of the clone-plugin profile
	// mounts the whole data volume, so a clone staged beside DataSubPath is
	// moved into place with one rename.
	DataVolumeDir = "/mnt/data"
	// StagingDir, on the data volume beside DataSubPath, is where a clone
	// is made before it is moved into place with one rename.
	StagingDir = ".clone"
	// MovingDir, on the data volume beside DataSubPath, is where
	// clone-mysql gathers a data directory found at the volume's root (a
	// server adopted with its claim mounted at DataDir) before one rename
	// makes it DataSubPath.
	MovingDir = ".moving"
	// StartReplicationMarker, in the data directory, tells the sidecar of
	// the clone-plugin profile that the data is a fresh clone whose
	// replication it must point at the primary and start, once.
	StartReplicationMarker = "start-replication"
	// RefusedMarker, in the data directory, holds why the sidecar refused
	// to replicate from the primary (the replica diverged); the readiness
	// probe reports it, and clone-mysql clones again when RecloneEnv says
	// so, after moving the data directory to DivergedPrefix<time> on the
	// data volume.
	RefusedMarker = ".replication-refused"
	// ReconnectingMarker, in the data directory, holds since when (Unix
	// seconds) the readiness probe has seen the replica reconnecting to its
	// primary.
	ReconnectingMarker = ".replication-reconnecting-since"
	DivergedPrefix     = ".diverged-"
	// InitializedDir is where clone-mysql finds the optional ConfigMap
	// <name>-initialized; InitializedKey is its key.
	InitializedDir = "/mnt/initialized"
	InitializedKey = "initialized"
	// RecoverFromKey, in ConfigMap <name>-initialized, lists the ordinals
	// of the replicas an emptied pod 0 may be recovered from (webhook
	// recover-primary writes it; the controller removes it once pod 0 is
	// ready): clone-mysql then clones the one holding the most
	// transactions and makes the clone a primary instead of refusing.
	RecoverFromKey = "recover-from"
	// PromotedMarker, in a recovered primary's data directory, holds the
	// replica it was recovered from.
	PromotedMarker = ".recovered-from"
	// EmptyPrimaryMessage starts what clone-mysql says when it refuses to
	// start an empty primary of an initialised StatefulSet; the controller
	// finds it in the pod's termination message.
	EmptyPrimaryMessage = "refusing to start an empty primary"
	// ConfDir is the conf emptyDir in the database and sidecar containers,
	// which the images include in their configuration.
	ConfDir = "/etc/mysql/conf.d"
	// OptionFileDir is where the images read their option files from
	// (my.cnf, which includes ConfDir); OptionFileDirAlt and
	// OptionFileAlt are where some images read them too.
	OptionFileDir    = "/etc/mysql"
	OptionFileDirAlt = "/etc/my.cnf.d"
	OptionFileAlt    = "/etc/my.cnf"
	// InitConfDir and ConfigMapDir are the conf emptyDir and the ConfigMap
	// in init-mysql.
	InitConfDir  = "/mnt/conf.d"
	ConfigMapDir = "/mnt/config-map"
	// MetricsDir is the MetricsVolume in the exporter, InitMetricsDir in
	// init-mysql, which writes MetricsOptionName there: the exporter's
	// client options (the metrics user, its password, 127.0.0.1).
	MetricsDir        = "/etc/mysqld-exporter"
	InitMetricsDir    = "/mnt/metrics"
	MetricsOptionName = "my.cnf"
	// ClientOptionFile is where init-mysql writes the root credentials for
	// the clients of the other containers (a .opt file: the server reads
	// only *.cnf).
	ClientOptionFile = ConfDir + "/" + ClientOptionName
	ClientOptionName = "client.opt"
	// PrimaryConfigKey and ReplicaConfigKey are the ConfigMap keys of the
	// primary's and the replicas' .cnf files.
	PrimaryConfigKey = "master.cnf"
	ReplicaConfigKey = "slave.cnf"
	// TLSDir is where the containers that talk to other pods find the
	// pods' certificates: TLSCAFile, the StatefulSet's certificate
	// authority, and TLSCertFile and TLSKeyFile, the pod's own.
	TLSDir      = "/etc/mysql/tls"
	TLSCAFile   = TLSDir + "/ca.crt"
	TLSCertFile = TLSDir + "/tls.crt"
	TLSKeyFile  = TLSDir + "/tls.key"
	// HelperDir and HelperPath are where the profiles that need it find
	// this project's pod helper (cmd/helper), which an init container
	// copies in from HelperImagePath in this project's image.
	HelperDir       = "/opt/mysql-replication/bin"
	HelperPath      = HelperDir + "/helper"
	HelperImagePath = "/helper"
)

// Users the containers run as.
const (
	// DatabaseUser is the uid and gid of the user DatabaseUserName in the
	// MySQL and MariaDB images: injected containers that run the database
	// image run as it, and the pod's volumes belong to its group.
	DatabaseUser     = 999
	DatabaseUserName = "mysql"
	// HelperUser is the non-root user of this project's image.
	HelperUser = 65532
)

// HoldsOptionFiles reports whether a mount at mountPath gives a container
// option files the database servers read.
func HoldsOptionFiles(mountPath string) bool {
	p := path.Clean(mountPath)
	for _, dir := range []string{OptionFileDir, OptionFileDirAlt} {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return p == OptionFileAlt
}
