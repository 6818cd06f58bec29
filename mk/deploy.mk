##@ Deployment

KUSTOMIZE_BUILD ?= $(GO) run ./hack/kbuild
KUBECTL ?= kubectl

.PHONY: build-installer
build-installer: ## Write dist/install.yaml: the whole install for IMG.
	mkdir -p dist
	$(KUSTOMIZE_BUILD) -image $(IMG) config/default > dist/install.yaml
	@echo "wrote dist/install.yaml for $(IMG)"

# VERSION, when given to make release, must be this tree's release.
VERSION ?= $(RELEASE)

.PHONY: release
release: ## The artifacts of this release: dist/install.yaml, the packaged chart, and the image build command (VERSION=… checks the release).
	@if [ "$(VERSION)" != "$(RELEASE)" ]; then \
	  echo "release: VERSION=$(VERSION), but this tree is release $(RELEASE): set Release in pkg/contract/contract.go, then the places make test names"; exit 1; fi
	$(MAKE) --no-print-directory build-installer IMG=$(IMG)
	$(GO) run ./hack/chart -d dist dist/chart
	@echo "the image, for linux/amd64 and linux/arm64 (a Docker engine with buildx):"
	@echo "  docker buildx build --platform linux/amd64,linux/arm64 -t $(IMG) --push ."

.PHONY: deploy
deploy: ## Install into the cluster of the current kubeconfig with IMG (needs cert-manager; kubectl apply -k, no Go).
	KUBECTL="$(KUBECTL)" bash hack/deploy.sh $(IMG) apply

.PHONY: undeploy
undeploy: ## Remove the install from the cluster (kubectl delete -k).
	KUBECTL="$(KUBECTL)" bash hack/deploy.sh $(IMG) delete

.PHONY: docker-build
docker-build: ## Build the image IMG (needs a Docker engine).
	docker build -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the image IMG.
	docker push $(IMG)
