# mysql-replication-webhook
#
# Two commands set everything up on a fresh machine:
#   make demo   shows the webhook at work on a three-node cluster on this machine
#   make test   runs every test (installs what the tests need first)

SHELL := /bin/bash
GO ?= go
# The release is contract.Release (pkg/contract/contract.go), named nowhere else.
RELEASE := $(shell sed -n 's/^\tRelease = "\(.*\)"$$/\1/p' pkg/contract/contract.go)
IMG ?= mysql-replication-webhook:$(RELEASE)
LOCALBIN ?= $(CURDIR)/bin
ENVTEST_K8S_VERSION ?= 1.37.2
# The oldest Kubernetes release the webhook supports (StatefulSets label pods
# with their ordinal from 1.28 on): envtest runs against its API server too.
ENVTEST_OLDEST_K8S_VERSION ?= 1.28.15
FUZZTIME ?= 30s
# Where kube-apiserver and etcd are found; hack/setup-envtest.sh installs them
# outside the clone (the store setup-envtest uses) on first use.
ENVTEST_ASSETS = $$(ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) bash hack/setup-envtest.sh)
ENVTEST_OLDEST_ASSETS = $$(ENVTEST_K8S_VERSION=$(ENVTEST_OLDEST_K8S_VERSION) bash hack/setup-envtest.sh)
export GOTOOLCHAIN ?= local

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: build
build: ## Build bin/webhook, and bin/kubectl-mysql_replication (kubectl's plugin: the same binary).
	CGO_ENABLED=0 $(GO) build -trimpath -o $(LOCALBIN)/webhook ./cmd/webhook
	ln -sf webhook $(LOCALBIN)/kubectl-mysql_replication

.PHONY: run
run: ## Run the webhook and reconciler against the current kubeconfig.
	$(GO) run ./cmd/webhook

.PHONY: lint
lint: shellcheck ## gofmt, go vet and shellcheck (also on the rendered scripts).
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	shellcheck hack/*.sh .ci/run
	$(GO) test -count=1 -run 'TestShellcheck|TestScriptsSurviveKubernetesExpansion' ./pkg/scripts/

.PHONY: envtest
envtest: ## Install kube-apiserver and etcd for envtest (built locally where downloads fail).
	@ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) bash hack/setup-envtest.sh

.PHONY: envtest-oldest
envtest-oldest: ## The same for the oldest supported release's kube-apiserver (ENVTEST_OLDEST_K8S_VERSION).
	@ENVTEST_K8S_VERSION=$(ENVTEST_OLDEST_K8S_VERSION) bash hack/setup-envtest.sh

.PHONY: shellcheck
shellcheck: ## Install shellcheck when missing.
	@command -v shellcheck >/dev/null || bash hack/apt-install.sh shellcheck

##@ Demo

.PHONY: demo
demo: ## On a cluster of NODES nodes (default 3) on this machine: the install, config/samples replicating in pods (KEEP=1 keeps it); else demo-apiserver.
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "demo: a cluster on this machine needs root; showing the API-server-only demo instead"; \
	elif ! $(MAKE) --no-print-directory cluster-deps; then \
	  echo "demo: the cluster's packages could not be installed (above); showing the API-server-only demo instead"; \
	else \
	  $(GO) build -o $(LOCALBIN)/cluster-demo ./test/cluster/demo || exit 1; \
	  $(E2E_ENV) KEEP=$(KEEP) $(LOCALBIN)/cluster-demo; rc=$$?; \
	  if [ $$rc != 3 ]; then exit $$rc; fi; \
	  echo "demo: no cluster can start on this machine (above); showing the API-server-only demo instead"; \
	fi; \
	$(MAKE) --no-print-directory demo-apiserver KEEP=$(KEEP)

.PHONY: demo-apiserver
demo-apiserver: envtest build ## Run the webhook on a local control plane (no kubelet), apply config/samples, print the result (KEEP=1 keeps it running).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" KEEP=$(KEEP) $(GO) run ./test/demo --webhook $(LOCALBIN)/webhook

##@ Tests

.PHONY: test
test: envtest envtest-oldest shellcheck replication-deps ## Run every test: unit, golden, envtest, install, replication on real servers, reliability, envtest on the oldest supported API server, then e2e on a three-node cluster.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) $(GO) test -race -count=1 -timeout 60m ./... 2>&1 | tee /tmp/mysql-replication-webhook-test.log; exit $${PIPESTATUS[0]}
	$(MAKE) --no-print-directory test-envtest-oldest
	$(MAKE) --no-print-directory test-e2e

.PHONY: test-envtest-oldest
test-envtest-oldest: envtest-oldest ## Run the envtest suite against the oldest supported API server (ENVTEST_OLDEST_K8S_VERSION). Part of make test.
	KUBEBUILDER_ASSETS="$(ENVTEST_OLDEST_ASSETS)" ENVTEST_K8S_VERSION=$(ENVTEST_OLDEST_K8S_VERSION) $(GO) test -count=1 -timeout 20m ./test/envtest/ 2>&1 | tee /tmp/mysql-replication-webhook-envtest-oldest.log; exit $${PIPESTATUS[0]}

.PHONY: test-unit
test-unit: ## Run the tests that need no control plane and no database.
	$(GO) test -count=1 ./pkg/... ./internal/...

.PHONY: fuzz
fuzz: ## Run the fuzz tests for FUZZTIME each (make fuzz FUZZTIME=5m).
	$(GO) test ./internal/webhooks/ -run '^$$' -fuzz '^FuzzHandle$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 0
	$(GO) test ./internal/patch/ -run '^$$' -fuzz '^FuzzCreate$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 0
	$(GO) test ./pkg/mutate/ -run '^$$' -fuzz '^FuzzMutate$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 0
	$(GO) test ./pkg/profile/ -run '^$$' -fuzz '^FuzzResolve$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 0

.PHONY: manifests
manifests: ## Generate config/rbac/role.yaml from the controller's +kubebuilder:rbac markers.
	$(GO) tool controller-gen rbac:roleName=manager-role paths=./internal/... output:rbac:dir=config/rbac

# The Prometheus Operator's API, whose PodMonitor the controller creates.
PROMETHEUS_OPERATOR_API = github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1

.PHONY: podmonitor-crd
podmonitor-crd: ## Generate the PodMonitor CRD envtest installs, from the Prometheus Operator's API module in go.mod.
	rm -rf bin/crds && $(GO) tool controller-gen crd paths=$(PROMETHEUS_OPERATOR_API) output:crd:dir=bin/crds
	cp bin/crds/monitoring.coreos.com_podmonitors.yaml test/envtest/testdata/

.PHONY: golden
golden: ## Rewrite the golden files (review the diff).
	UPDATE_GOLDEN=true $(GO) test -count=1 ./internal/inject/

-include mk/*.mk
