# Berth: `make` builds bin/berth and runs `berth check`; `make test` is what CI runs.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
export CGO_ENABLED := 0

.PHONY: all build check test lint unit e2e cross bench clean

all: build check

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/berth ./cmd/berth

check: build
	./bin/berth check

# test: formatting, vet, the unit and root tests, the end-to-end suite (the
# real binary, a real daemon, the real docker CLI), and the cross builds.
test: lint cross e2e unit

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOARCH=arm $(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

e2e:
	$(GO) vet -tags e2e ./...
	$(GO) test -tags e2e -count=1 -run 'EndToEnd' ./cmd/berth

# The release platforms, CGO_ENABLED=0: linux for the engine, darwin for the
# client, check and install.
cross:
	@for p in linux/amd64 linux/arm64 linux/arm darwin/amd64 darwin/arm64; do \
	  echo "build $$p"; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} GOARM=7 $(GO) build -trimpath -o /dev/null ./cmd/berth || exit 1; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin dist
