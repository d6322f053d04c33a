# insider-import. `make demo` runs a real import into the built-in stand-in
# API; `make test` runs every test (with the race detector where it works).
GO      ?= go
BIN     := bin/insider-import
PKGS    := ./...
RACE    := $(shell $(GO) env CGO_ENABLED | grep -q 1 && echo -race)
FUZZTIME ?= 10000x
# go test -fuzz takes one package and one target per invocation: each entry
# is PACKAGE:TARGET.
# importer: the mapping end to end (bodies the stand-in accepts) and the config;
# importer/encode: number, time and identifier fast paths against their references;
# internal/jsonstr: the JSON string appender against its reference;
# readers: the CSV splitter against encoding/csv, its one-line fast path against
# the general one, the text dialects against records written as PostgreSQL and
# MariaDB write them.
FUZZ_TARGETS := $(addprefix ./importer/:,FuzzMapRow FuzzParseConfig) \
  $(addprefix ./importer/encode/:,FuzzNumberText FuzzIdentifierChecks FuzzRFC3339Same \
  FuzzPlainNumbers FuzzWholeText) \
  ./internal/jsonstr/:FuzzAppendStringSame \
  $(addprefix ./readers/:,FuzzCSVSplitter FuzzCSVSplitLine FuzzCSVDialectRoundTrip)
BENCH_ROWS ?= 100000
# Stamped into the binary (insider-import version) and the image labels.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# The image: deploy/Dockerfile on the static binary. The Kubernetes manifests
# (deploy/kubernetes/) run $(IMAGE):latest; the deploy test checks they agree.
IMAGE   ?= insider-import
CONTAINER_TOOL ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)
CA_CERTS ?= /etc/ssl/certs/ca-certificates.crt

.PHONY: build test demo bench interop lint fuzz clean image image-name

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/insider-import

# The container image $(IMAGE):$(VERSION) and $(IMAGE):latest, with podman
# if present, else docker. The context bin/image/ holds only what the image
# holds: the static binary (with its own time zone data), the host's CA
# bundle (Debian's ca-certificates), and /etc/passwd and /etc/group for 65532.
image:
	rm -rf bin/image && mkdir -p bin/image/etc
	CGO_ENABLED=0 $(GO) build -trimpath -tags timetzdata -ldflags '-s -w $(LDFLAGS)' -o bin/image/insider-import ./cmd/insider-import
	cp deploy/rootfs/etc/passwd deploy/rootfs/etc/group bin/image/etc/
	cp $(CA_CERTS) bin/image/ca-certificates.crt
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) \
	  -f deploy/Dockerfile -t $(IMAGE):$(VERSION) -t $(IMAGE):latest bin/image

image-name:
	@echo $(IMAGE)

demo: build
	./scripts/demo.sh $(BIN)

# test also runs the pacer's convergence test without the race detector,
# whose slowdown loosens its bounds (importer/throttling_test.go).
test:
	$(GO) vet $(PKGS)
	$(GO) test $(RACE) -count=1 -timeout 20m $(PKGS)
	$(GO) test -count=1 -run '^TestThrottlingConverges$$' ./importer/
	cd deploy && $(GO) vet ./... && $(GO) test -count=1 ./...
	$(MAKE) --no-print-directory fuzz

# A short run of each fuzz target (FUZZTIME each; make fuzz FUZZTIME=5m for
# a long one). The seed corpus is in importer/testdata/fuzz, and plain
# go test runs it too. The default is a count, not a duration: Go 1.26's
# fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when a -fuzztime duration ends (go.dev/issue/75804, fixed in
# Go 1.27), which failed CI once with no crasher; a count also lets the
# slower targets finish their seed corpus, which 3 s did not.
fuzz:
	@set -e; for e in $(FUZZ_TARGETS); do \
	  p=$${e%%:*}; t=$${e#*:}; \
	  echo "$(GO) test -run '^$$' -fuzz '^$$t\$$' -fuzztime $(FUZZTIME) $$p"; \
	  $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$p; \
	done

# Go benchmarks (rows/s, allocations per row, next to a bare CSV read), then
# whole-process runs of the binary (rows/s, peak RSS at 1x and 10x size).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./importer/ ./readers/
	./scripts/bench.sh $(BENCH_ROWS)

# Regenerate the Parquet interop corpus (testdata/interop) with the real
# writers: needs node and npm; tests only read the committed files.
interop:
	./scripts/interop.sh

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	cd deploy && $(GO) vet ./...

clean:
	rm -rf bin
