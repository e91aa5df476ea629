# idemkit — the two commands a user needs are `make run` and `make test`.
GO          ?= go
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 20000x
ENSURE      := scripts/ensure-tool.sh

.PHONY: run test vet lint test-go fuzz bench bench-go bench-load clean

## run: start the booking demo on :8080 (in-memory store, or Valkey when VALKEY_ADDR is set).
## The demo is built, then exec'd, so that SIGINT and SIGTERM reach it (not `go run`) and it drains gracefully.
RUNBIN := $(CURDIR)/bin/booking
run:
	@cd examples && $(GO) build -o $(RUNBIN) ./booking && exec $(RUNBIN)

## test: find (or install) valkey-server, then vet, staticcheck, race tests of every module, a short fuzz pass
test:
	@vs=$$($(ENSURE) valkey-server valkey-server VALKEY_SERVER) || exit 1; \
	echo "using valkey-server: $$vs ($$($$vs --version | cut -d' ' -f3))"; \
	VALKEY_SERVER=$$vs IDEMKIT_REQUIRE_VALKEY=1 $(MAKE) --no-print-directory vet lint test-go fuzz

# Every module of the repository: the library, examples/ and each contrib/ module.
MODULES := . examples $(patsubst %/go.mod,%,$(sort $(wildcard contrib/*/go.mod)))

vet:
	@for m in $(MODULES); do echo "go vet ($$m)"; (cd $$m && $(GO) vet ./...) || exit 1; done

lint:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || { echo "gofmt: the files above need formatting"; exit 1; }
	@for m in $(MODULES); do echo "staticcheck ($$m)"; (cd $$m && $(STATICCHECK) ./...) || exit 1; done

test-go:
	@for m in $(MODULES); do echo "go test -race ($$m)"; (cd $$m && $(GO) test -race -count=1 ./...) || exit 1; done
	@echo "Valkey harness (standalone, 3-master cluster, replica) ran, not skipped:"
	@$(GO) test -count=1 -v -run '^(TestStandaloneSetGet|TestClusterSetGet|TestReplica)$$' ./internal/valkeytest/ | grep -E '^(--- |ok|FAIL)'


## fuzz: run every fuzz target for FUZZTIME (default 20000x: executions, 2-6 s each here). A count, not
## a duration: Go 1.26 can fail a -fuzztime=<duration> run at its deadline (go.dev/issue/75804).
fuzz:
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

## bench: Go benchmarks against real Valkey, then the load benchmark
bench:
	@vs=$$($(ENSURE) valkey-server valkey-server VALKEY_SERVER) || exit 1; \
	VALKEY_SERVER=$$vs IDEMKIT_REQUIRE_VALKEY=1 $(MAKE) --no-print-directory bench-go bench-load

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-load: find (or install) wrk and valkey-server, then the load benchmark (internal/loadbench):
## bare vs idemkit (memory, Valkey, Valkey + replay cache) vs naive GET-then-SET, same-key bursts,
## and the 1M-key memory store check. Quick run: make bench-load LOADBENCH_ARGS=-test.short
## More flags (after -args): -loadbench.duration=4s -loadbench.rounds=5 -loadbench.profile=DIR -loadbench.out=FILE,
## -loadbench.configs=idemkit+valkey -loadbench.scenarios=new-key (quick comparisons), -loadbench.flushdelay=0
LOADBENCH_ARGS ?=
bench-load:
	@vs=$$($(ENSURE) valkey-server valkey-server VALKEY_SERVER) || exit 1; \
	wrk=$$($(ENSURE) wrk wrk WRK) || exit 1; \
	echo "using valkey-server: $$vs ($$($$vs --version | cut -d' ' -f3)), wrk: $$wrk"; \
	VALKEY_SERVER=$$vs WRK=$$wrk IDEMKIT_REQUIRE_VALKEY=1 IDEMKIT_LOADBENCH=1 \
	$(GO) test -run '^(TestLoad|TestMemoryStoreMillionKeys)$$' -count=1 -v -timeout 60m ./internal/loadbench -args $(LOADBENCH_ARGS)

clean:
	$(GO) clean -testcache
