# pptp-go: a PPTP client (pptp-linux compatible, with its own PPP stack) and server in Go.
GO        ?= go
BIN       ?= bin
GOFLAGS_STATIC = CGO_ENABLED=0
LDFLAGS   = -s -w -X github.com/pptp-go/pptp/cli.Version=$(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: all build demo test unit bench fuzz lint clean

all: build

build:
	$(GOFLAGS_STATIC) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/pptp ./cmd/pptp
	$(GOFLAGS_STATIC) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/pptpd ./cmd/pptpd

# README command one: our server in a network namespace, our client connecting, ping and iperf3.
demo: build
	./scripts/demo.sh

# README command two (and .ci/run): installs what the tests need, then runs every test:
# unit tests, network-namespace end-to-end tests and interop against Debian's stack (refvm).
test:
	./scripts/test.sh

# Unit tests only (no root needed; root-only tests skip themselves).
unit:
	$(GO) test ./...

bench: build
	./scripts/bench.sh

fuzz:
	./scripts/fuzz.sh

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
