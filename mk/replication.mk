##@ Replication on real servers

REPLICATION_PACKAGES = mariadb-server mariadb-backup mariadb-client ncat iproute2 util-linux
DB_ROOTS = mysql-9 mariadb-11 mysqld-exporter

.PHONY: replication-deps
replication-deps: ## Install MariaDB, ncat, iproute2 and the MySQL 9.7 root filesystem for the replication tests (root).
	@if [ "$$(id -u)" = 0 ]; then bash hack/apt-install.sh $(REPLICATION_PACKAGES) && \
	  for root in $(DB_ROOTS); do bash hack/setup-db-root.sh $$root >/dev/null; done; \
	else echo "replication-deps: not root; the replication tests will be SKIPPED"; fi

.PHONY: test-replication
test-replication: replication-deps ## Run the injected scripts against real MySQL 9.7 and MariaDB servers in network namespaces.
	$(GO) test -count=1 -v -timeout 30m ./test/replication/
