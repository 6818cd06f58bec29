##@ End to end on a real cluster on this machine

# The cluster's binaries (kubelet, kube-proxy, CoreDNS, … built from the Go
# module proxy; containerd, runc, CNI plugins and etcd from Debian) and the
# database root filesystems are installed outside the clone on first use.
CLUSTER_BIN = $$(bash hack/setup-cluster.sh)
# The cluster's nodes, each in a network namespace of its own (1 to 9).
NODES ?= 3
# The subtests to run (go test -run), all of them by default.
E2E_RUN ?= ^TestCluster$$
# The release before this one (internal/legacy/r61ddb15), built from its
# commit: e2e installs it first and upgrades a StatefulSet it completed.
PREVIOUS_RELEASE = 61ddb15
E2E_ENV = E2E_CLUSTER=1 CLUSTER_BIN="$(CLUSTER_BIN)" NODES=$(NODES) \
	WEBHOOK_BIN=$(LOCALBIN)/webhook-image HELPER_BIN=$(LOCALBIN)/helper-image CERTMANAGER_BIN=$(LOCALBIN)/certmanager \
	PREVIOUS_RELEASE_DIR=$(LOCALBIN)/release-$(PREVIOUS_RELEASE) \
	MYSQL_ROOT="$$(bash hack/setup-db-root.sh mysql-9)" MARIADB_ROOT="$$(bash hack/setup-db-root.sh mariadb)" \
	MARIADB11_ROOT="$$(bash hack/setup-db-root.sh mariadb-11)" EXPORTER_ROOT="$$(bash hack/setup-db-root.sh mysqld-exporter)"

.PHONY: cluster-deps
cluster-deps: ## Install what the cluster needs (root; cached in ~/.local/share/mysql-replication-webhook).
	@if [ "$$(id -u)" != 0 ]; then echo "cluster-deps: a cluster on this machine needs root"; exit 1; fi
	@bash hack/setup-cluster.sh >/dev/null
	@for root in mysql-9 mariadb mariadb-11 mysqld-exporter; do bash hack/setup-db-root.sh $$root >/dev/null; done
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(LOCALBIN)/webhook-image ./cmd/webhook
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(LOCALBIN)/helper-image ./cmd/helper
	$(GO) build -o $(LOCALBIN)/certmanager ./test/cluster/certmanager
	GO=$(GO) bash hack/build-release.sh $(PREVIOUS_RELEASE) $(LOCALBIN)/release-$(PREVIOUS_RELEASE)

.PHONY: e2e
e2e: cluster-deps ## On a real cluster of NODES nodes (default 3): kustomize install with cert-manager, samples replicating in pods (KEEP=1 keeps it; E2E_RUN=TestCluster/mysql some subtests).
	$(E2E_ENV) KEEP=$(KEEP) $(GO) test -count=1 -v -timeout 85m -run '$(E2E_RUN)' ./test/cluster/ 2>&1 | tee /tmp/mysql-replication-webhook-e2e.log; exit $${PIPESTATUS[0]}

.PHONY: e2e-down
e2e-down: ## Tear down a cluster that KEEP=1 left running.
	$(GO) run ./test/cluster/down -bin "$(CLUSTER_BIN)"

.PHONY: test-e2e
test-e2e: ## make e2e where a cluster can run (root); SKIPPED, and said so, elsewhere. Part of make test.
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory e2e; \
	else echo "test-e2e: not root; the end-to-end test on a real cluster is SKIPPED"; fi
