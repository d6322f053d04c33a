# insider-import. `make demo` runs a real import into the built-in stand-in
# API; `make test` runs every test (with the race detector where it works).
GO      ?= go
BIN     := bin/insider-import
PKGS    := ./...
RACE    := $(shell $(GO) env CGO_ENABLED | grep -q 1 && echo -race)
FUZZTIME ?= 3s

.PHONY: build test demo bench lint fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/insider-import

demo: build
	./scripts/demo.sh $(BIN)

test:
	$(GO) vet $(PKGS)
	$(GO) test $(RACE) -count=1 -timeout 20m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./importer/ ./readers/

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
