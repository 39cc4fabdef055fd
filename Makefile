# pptp-go: a PPTP client (pptp-linux compatible, with its own PPP stack) and server in Go.
GO        ?= go
BIN       ?= bin
GOFLAGS_STATIC = CGO_ENABLED=0
# The git tag (v1.2.3 → 1.2.3, later commits → 1.2.3+gitN.gHASH), as pptp --version and the .deb show it.
VERSION  ?= $(shell scripts/version.sh)
LDFLAGS   = -s -w -X github.com/pptp-go/pptp/cli.Version=$(VERSION)
PREFIX   ?= /usr/local
DESTDIR  ?=

.PHONY: all build demo test unit bench fuzz lint clean install deb

all: build

build:
	$(GOFLAGS_STATIC) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/pptp ./cmd/pptp
	$(GOFLAGS_STATIC) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/pptpd ./cmd/pptpd

# Binaries, man pages, systemd units and default configuration under $(DESTDIR)$(PREFIX)
# (configuration in $(DESTDIR)/etc, never overwritten). For Debian, use make deb.
install: build
	DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' BIN='$(BIN)' ./scripts/install.sh

# pptp-go_<version>_<arch>.deb in the current directory (dpkg-deb; see scripts/deb.sh).
deb: build
	BIN='$(BIN)' ./scripts/deb.sh

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
	rm -rf $(BIN) pptp-go_*.deb
