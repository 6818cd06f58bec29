##@ Benchmarks

BENCH_OUT ?= /tmp/mysql-replication-webhook-bench
BENCH_ARGS ?=

.PHONY: bench
bench: envtest ## Measure the handler against its floor, admission over HTTPS, creates through webhook and policy; write BENCHMARKS.md from a quiet run (BENCH_WRITE_NOISY=1: also from a noisy one, marked).
	@mkdir -p $(BENCH_OUT)
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./pkg/mutate/ ./internal/webhooks/ | tee $(BENCH_OUT)/gobench.txt
	$(GO) test -run '^$$' -bench '^BenchmarkHandle$$' -benchtime 3s -cpuprofile $(BENCH_OUT)/handle.cpu -o $(BENCH_OUT)/admission.test ./internal/webhooks/ >/dev/null
	$(GO) test -run '^$$' -bench '^BenchmarkHandleInjected$$' -benchtime 3s -cpuprofile $(BENCH_OUT)/handle-injected.cpu -o $(BENCH_OUT)/admission.test ./internal/webhooks/ >/dev/null
	$(GO) tool pprof -top -cum -nodecount 30 $(BENCH_OUT)/admission.test $(BENCH_OUT)/handle.cpu > $(BENCH_OUT)/handle.prof.txt 2>/dev/null
	$(GO) tool pprof -top -cum -nodecount 30 $(BENCH_OUT)/admission.test $(BENCH_OUT)/handle-injected.cpu > $(BENCH_OUT)/handle-injected.prof.txt 2>/dev/null
	$(GO) build -o $(BENCH_OUT)/bench ./test/bench
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(BENCH_OUT)/bench -policy-out $(BENCH_OUT)/policy.yaml -throughput-profile $(BENCH_OUT)/throughput.cpu $(BENCH_ARGS) > $(BENCH_OUT)/report.txt; cat $(BENCH_OUT)/report.txt
	$(GO) tool pprof -top -cum -nodecount 40 $(BENCH_OUT)/bench $(BENCH_OUT)/throughput.cpu > $(BENCH_OUT)/throughput.prof.txt 2>/dev/null
	@if grep -qx 'bench_noisy: true' $(BENCH_OUT)/report.txt && [ -z "$(BENCH_WRITE_NOISY)" ]; then \
	  echo "bench: the machine was busy during the run (noise rule above): BENCHMARKS.md not written; the report is in $(BENCH_OUT)/report.txt"; \
	  echo "bench: run again on a quiet machine, or BENCH_WRITE_NOISY=1 to write it marked noisy"; \
	  exit 1; \
	fi
	bash hack/benchmarks-md.sh $(BENCH_OUT) BENCHMARKS.md > $(BENCH_OUT)/BENCHMARKS.md
	mv $(BENCH_OUT)/BENCHMARKS.md BENCHMARKS.md
	@echo "wrote BENCHMARKS.md"

.PHONY: bench-data
bench-data: cluster-deps ## The data path on a one-node cluster (root): a new replica of 1 and 4 GiB against copying its data directory; a quiet run writes its section of BENCHMARKS.md (BENCH_DATA_ARGS: -sizes, -servers, -rounds).
	@mkdir -p $(BENCH_OUT)
	$(GO) build -o $(LOCALBIN)/databench ./test/cluster/databench
	$(E2E_ENV) $(LOCALBIN)/databench -write BENCHMARKS.md $(BENCH_DATA_ARGS) | tee $(BENCH_OUT)/data-report.txt; exit $${PIPESTATUS[0]}
