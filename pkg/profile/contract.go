package profile

// The pod contract: where the injected containers find the volumes, which
// ports they use and which ConfigMap keys hold the .cnf files. It is the
// same in every profile; the scripts are rendered with these values.
const (
	// DataDir is where the database containers mount the data volume
	// (its DataSubPath directory).
	DataDir     = "/var/lib/mysql"
	DataSubPath = "mysql"
	// DataVolumeDir is where clone-mysql of the clone-plugin profile
	// mounts the whole data volume, so a clone staged beside DataSubPath is
	// moved into place with one rename.
	DataVolumeDir = "/mnt/data"
	// StartReplicationMarker, in the data directory, tells the sidecar of
	// the clone-plugin profile that the data is a fresh clone whose
	// replication it must point at the primary and start, once.
	StartReplicationMarker = "start-replication"
	// InitializedDir is where clone-mysql finds the optional ConfigMap
	// <name>-initialized, which exists once the StatefulSet's primary has
	// been ready; InitializedKey is its key.
	InitializedDir = "/mnt/initialized"
	InitializedKey = "initialized"
	// InitializedTail names that ConfigMap after the StatefulSet.
	InitializedTail = "-initialized"
	// EmptyPrimaryMessage starts what clone-mysql says when it refuses to
	// start an empty primary of an initialised StatefulSet; the controller
	// finds it in the pod's termination message.
	EmptyPrimaryMessage = "refusing to start an empty primary"
	// PodIndexEnv carries the pod's apps.kubernetes.io/pod-index label
	// into every container that runs a script, through the downward API.
	PodIndexEnv = "POD_INDEX"
	// StagingDir, on the data volume beside DataSubPath, is where a clone
	// is made before it is moved into place with one rename.
	StagingDir = ".clone"
	// ConfDir is the conf emptyDir in the database and sidecar containers,
	// which the images include in their configuration.
	ConfDir = "/etc/mysql/conf.d"
	// InitConfDir and ConfigMapDir are the conf emptyDir and the ConfigMap
	// in init-mysql.
	InitConfDir  = "/mnt/conf.d"
	ConfigMapDir = "/mnt/config-map"
	// ClientOptionFile is where init-mysql writes the root credentials for
	// the clients of the other containers (a .opt file: the server reads
	// only *.cnf).
	ClientOptionFile = ConfDir + "/" + ClientOptionName
	ClientOptionName = "client.opt"

	// MySQLPort is the database's client port; BackupPort is where the
	// backup-stream profiles serve backups to the next pod.
	MySQLPort  = 3306
	BackupPort = 3307

	// PrimaryConfigKey and ReplicaConfigKey are the ConfigMap keys of the
	// primary's and the replicas' .cnf files.
	PrimaryConfigKey = "master.cnf"
	ReplicaConfigKey = "slave.cnf"

	// DatabaseUser is the uid and gid of the mysql user in the MySQL and
	// MariaDB images: injected containers that run the database image run
	// as it, and the pod's volumes belong to its group.
	DatabaseUser = 999
	// HelperUser is the non-root user of this project's image.
	HelperUser = 65532

	// HelperDir and HelperPath are where the profiles that need it find
	// this project's binary, copied in by an init container.
	HelperDir  = "/opt/mysql-replication/bin"
	HelperPath = HelperDir + "/webhook"
)
