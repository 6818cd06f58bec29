##@ Benchmarks

.PHONY: bench
bench: envtest ## Measure admission latency, throughput, API server overhead, 1000-env mutation; write BENCHMARKS.md.
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./pkg/mutate/ ./pkg/admission/ | tee /tmp/mysql-replication-webhook-gobench.txt
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) run ./test/bench > /tmp/mysql-replication-webhook-bench.txt; cat /tmp/mysql-replication-webhook-bench.txt
	bash hack/benchmarks-md.sh /tmp/mysql-replication-webhook-bench.txt /tmp/mysql-replication-webhook-gobench.txt > BENCHMARKS.md
	@echo "wrote BENCHMARKS.md"
