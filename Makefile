# hacfg — declarative high availability for Linux load balancers.
#
#   make demo   the main job, end to end, on the shipped examples
#   make test   the whole suite: unit, integration (network namespaces),
#               VM (real IPVS under qemu) and keepalived interop
#
# Both install what they need (Debian packages via apt-get, when run as
# root) the first time.

GO       ?= go
BIN      := bin/hacfg
PKGS     := ./...
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
STATICCHECK_VERSION := v0.8.2

.PHONY: all build deps test test-unit test-integration test-vm lint demo bench fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/hacfg

# deps installs the Debian packages the integration, VM and interop tests
# need, when they are missing and we are root.
deps:
	@bash .ci/deps

test: deps
	$(GO) test -count=1 -timeout 40m $(PKGS)

test-unit:
	$(GO) test -count=1 -short $(PKGS)

test-integration: deps
	$(GO) test -count=1 -timeout 30m -run Integration $(PKGS)

# test-vm runs the tests that need real IPVS inside a qemu VM.
test-vm: deps
	$(GO) test -count=1 -timeout 20m -run 'TestIntegrationVM' -v ./runtime/linux/... ./cmd/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

demo: build
	@bash examples/demo.sh $(BIN)

bench: build deps
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./bench/...

# fuzz runs every fuzz target for FUZZTIME each.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeHCL$$' -fuzztime $(FUZZTIME) ./schema
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeYAML$$' -fuzztime $(FUZZTIME) ./schema
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s ./importer
	$(GO) test -run '^$$' -fuzz '^FuzzImport$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s ./importer
	$(GO) test -run '^$$' -fuzz '^FuzzUnmarshal$$' -fuzztime $(FUZZTIME) ./runtime/vrrp
	$(GO) test -run '^$$' -fuzz '^FuzzDNSParse$$' -fuzztime $(FUZZTIME) ./runtime/check

clean:
	rm -rf bin
