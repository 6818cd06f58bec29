##@ Replication on real servers

REPLICATION_PACKAGES = mariadb-server mariadb-backup mariadb-client ncat iproute2 util-linux

.PHONY: replication-deps
replication-deps: ## Install MariaDB, ncat and iproute2 for the replication tests (root).
	@if [ "$$(id -u)" = 0 ]; then bash hack/apt-install.sh $(REPLICATION_PACKAGES); \
	else echo "replication-deps: not root; the replication tests will be SKIPPED"; fi

.PHONY: test-replication
test-replication: replication-deps ## Run the injected scripts against real MariaDB servers in network namespaces.
	$(GO) test -count=1 -v -timeout 20m ./test/replication/
