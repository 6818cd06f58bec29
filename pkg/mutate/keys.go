package mutate

import "github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/profile"

// Label and annotation keys, and the names the webhook gives what it injects.
const (
	// EnabledLabel on a StatefulSet, with value EnabledValue, asks for injection.
	EnabledLabel = "mysql-replication"
	EnabledValue = "enabled"

	// InjectorVersionAnnotation marks a StatefulSet the webhook has completed.
	InjectorVersionAnnotation = "mysql-replication.io/injector-version"
	// InjectorVersion is the value of InjectorVersionAnnotation.
	InjectorVersion = "1"
	// FlavorAnnotation states the server family ("mysql" or "mariadb") where
	// the image name does not tell.
	FlavorAnnotation = "mysql-replication.io/flavor"
	// ServerVersionAnnotation states the server version ("8.4", "10.11")
	// where the image tag does not tell (a digest, a private image).
	ServerVersionAnnotation = "mysql-replication.io/server-version"

	// CredentialsSecretAnnotation names the user's own credentials Secret
	// (keys RootPasswordKey and ReplicationPasswordKey) instead of the
	// generated <name>-credentials.
	CredentialsSecretAnnotation = "mysql-replication.io/credentials-secret"
	// InsecureTutorialAnnotation, set to "true", keeps the tutorial's empty
	// root password and replication as root.
	InsecureTutorialAnnotation = "mysql-replication.io/insecure-tutorial-credentials"

	// StatefulSetLabel is put on the pod template, so every pod names its
	// StatefulSet; the pod webhook selects on it.
	StatefulSetLabel = "mysql-replication.io/statefulset"
	// RoleLabel on a pod says RolePrimary (ordinal 0) or RoleReplica.
	RoleLabel   = "mysql-replication.io/role"
	RolePrimary = "primary"
	RoleReplica = "replica"
	// PodIndexLabel is set on StatefulSet pods by Kubernetes 1.28 and later.
	PodIndexLabel = "apps.kubernetes.io/pod-index"

	// ManagedBy is the app.kubernetes.io/managed-by value of created companions.
	ManagedBy = "mysql-replication-webhook"
)

// Credentials.
const (
	CredentialsSecretTail  = "-credentials"
	RootPasswordKey        = "root-password"
	ReplicationPasswordKey = "replication-password"
	ClonePasswordKey       = "clone-password"
	// ReplicationUser is the user replicas replicate as; it has only the
	// replication privileges.
	ReplicationUser = "replication"
	// CloneUser is the user a replica of the clone-plugin profile clones
	// as; it has only BACKUP_ADMIN.
	CloneUser = "clone"
)

// Recommended labels of the companion objects.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelPartOf    = "app.kubernetes.io/part-of"
)

// Names of what is injected into the pod template.
const (
	MySQLContainer      = "mysql"
	SidecarContainer    = "xtrabackup"
	InitMySQLContainer  = "init-mysql"
	CloneMySQLContainer = "clone-mysql"
	HelperInitContainer = "install-helper"

	ConfVolume      = "conf"
	ConfigMapVolume = "config-map"
	DataVolume      = "data"
	HelperVolume    = "helper"
	// InitializedVolume is the optional ConfigMap <name>-initialized,
	// which tells clone-mysql that an empty primary lost its data.
	InitializedVolume = "initialized"
	InitializedTail   = profile.InitializedTail

	MySQLPortName       = "mysql"
	MySQLPort           = profile.MySQLPort
	BackupPortName      = "xtrabackup"
	ReadServiceTail     = "-read"
	PrimaryServiceTail  = "-primary"
	ReplicasServiceTail = "-replicas"

	// PrimaryConfigKey and ReplicaConfigKey are the ConfigMap keys of the .cnf files.
	PrimaryConfigKey = profile.PrimaryConfigKey
	ReplicaConfigKey = profile.ReplicaConfigKey
)

// Release is this project's version; the default helper image is its
// image of this release, never a moving tag.
const Release = "v0.2.0"

// Default images: pinned versions.
const (
	DefaultXtrabackupImage = "gcr.io/google-samples/xtrabackup:1.0"
	DefaultHelperImage     = "mysql-replication-webhook:" + Release
)
