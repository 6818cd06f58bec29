##@ Deployment

KUSTOMIZE_BUILD ?= $(GO) run ./hack/kbuild
KUBECTL ?= kubectl

.PHONY: build-installer
build-installer: ## Write dist/install.yaml: the whole install for IMG.
	mkdir -p dist
	$(KUSTOMIZE_BUILD) -image $(IMG) config/default > dist/install.yaml
	@echo "wrote dist/install.yaml for $(IMG)"

.PHONY: deploy
deploy: ## Install into the cluster of the current kubeconfig with IMG (needs cert-manager).
	$(KUSTOMIZE_BUILD) -image $(IMG) config/default | $(KUBECTL) apply -f -

.PHONY: undeploy
undeploy: ## Remove the install from the cluster.
	$(KUSTOMIZE_BUILD) config/default | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: docker-build
docker-build: ## Build the image IMG (needs a Docker engine).
	docker build -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the image IMG.
	docker push $(IMG)
