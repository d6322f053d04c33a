# insider-import. `make demo` runs a real import into the built-in stand-in
# API; `make test` runs every test (with the race detector where it works).
GO      ?= go
BIN     := bin/insider-import
PKGS    := ./...
RACE    := $(shell $(GO) env CGO_ENABLED | grep -q 1 && echo -race)
FUZZTIME ?= 3s
# go test -fuzz takes one package and one target per invocation.
FUZZ_TARGETS := FuzzMapRow FuzzParseConfig FuzzNumberText FuzzIdentifierChecks
BENCH_ROWS ?= 100000

.PHONY: build test demo bench lint fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/insider-import

demo: build
	./scripts/demo.sh $(BIN)

test:
	$(GO) vet $(PKGS)
	$(GO) test $(RACE) -count=1 -timeout 20m $(PKGS)
	$(MAKE) --no-print-directory fuzz

# A short run of each fuzz target (FUZZTIME each; make fuzz FUZZTIME=5m for
# a long one). The seed corpus is in importer/testdata/fuzz, and plain
# go test runs it too.
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "$(GO) test -run '^$$' -fuzz '^$$t\$$' -fuzztime $(FUZZTIME) ./importer/"; \
	  $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./importer/; \
	done

# Go benchmarks (rows/s, allocations per row, next to a bare CSV read), then
# whole-process runs of the binary (rows/s, peak RSS at 1x and 10x size).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./importer/ ./readers/
	./scripts/bench.sh $(BENCH_ROWS)

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
