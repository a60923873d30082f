# Lift — one entry point for building, testing and running. `make help` lists targets.
SHELL := /bin/bash
GO ?= go
BUF := bin/buf
# Every Go package of the workspace (a pattern, since go.work has no root module).
PKGS := github.com/liftlabs/lift/...
LIFT_PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
export LIFT_PG_URL

.PHONY: help generate ui jssdk lint check proto-baseline test test-faults bench bench-decide build run smoke

# Show this help.
help:
	@awk '/^# /{c=substr($$0,3)} /^[a-z-]+:/{if(c!=""){sub(":.*","",$$1); printf "  %-10s %s\n",$$1,c}; c=""}' $(MAKEFILE_LIST)

# Regenerate Go code and the OpenAPI document from proto/ (output is committed).
generate:
	$(BUF) format -w --path proto/lift
	$(BUF) generate
	cd proto && $(GO) mod tidy

# Rebuild the web console (gateway/ui, pinned by its package-lock.json) into gateway/internal/console/dist (committed).
ui:
	cd gateway/ui && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

# buf lint (STANDARD), buf format check, go vet, gofmt, and every go.mod tidy.
lint:
	$(BUF) lint
	$(BUF) format -d --exit-code --path proto/lift
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $$($(GO) list -m -f '{{.Dir}}'); do (cd $$m && $(GO) mod tidy -diff >/dev/null) || { echo "go.mod not tidy in $$m: run go mod tidy there"; exit 1; }; done

# CI gates on generated code: fresh, linted, and not breaking the API (baseline image and merge base).
check: lint
	@$(MAKE) --no-print-directory generate >/dev/null
	@if [ -n "$$(git status --porcelain -- proto)" ]; then git status --porcelain -- proto; echo "generated code is stale: run make generate and commit"; exit 1; fi
	@# No breaking API change: against the committed baseline (the API as
	@# last accepted, whatever happened in between) and, on a branch,
	@# against its merge base with main (what last landed). Both sides are
	@# images, so the two-module workspace compares as one.
	@$(BUF) build -o .breaking-current.binpb && \
		$(BUF) breaking .breaking-current.binpb --against proto/breaking-baseline.binpb --exclude-imports; \
		rc=$$?; rm -f .breaking-current.binpb; [ $$rc -eq 0 ] || { echo "breaking API change against proto/breaking-baseline.binpb"; exit 1; }
	@base=$$(git merge-base HEAD main 2>/dev/null || git merge-base HEAD origin/main 2>/dev/null); \
	if [ -n "$$base" ] && [ "$$base" != "$$(git rev-parse HEAD)" ] && git cat-file -e $$base:buf.yaml 2>/dev/null; then \
		$(BUF) breaking --against ".git#ref=$$base" --exclude-imports || { echo "breaking API change against the merge base with main"; exit 1; }; \
	fi
	@$(MAKE) --no-print-directory ui >/dev/null
	@if [ -n "$$(git status --porcelain -- gateway/internal/console/dist)" ]; then git status --porcelain -- gateway/internal/console/dist; echo "the web console's build output is stale: run make ui and commit"; exit 1; fi

# Accept the current API as the breaking-change baseline (on purpose: after review, e.g. per release).
proto-baseline:
	$(BUF) build -o proto/breaking-baseline.binpb

# (The timeout leaves room for deploy/e2e's first run on a fresh machine: the compose
# plugin, the stand-in images and the Lift images are built once, then reused.)
# Run every test (needs Postgres at LIFT_PG_URL; the console's browser test needs chromium and `make ui`; deploy/e2e needs Docker, see the README).
test: jssdk
	$(GO) test -count=1 -timeout 30m $(PKGS)

# Install the Optimizely JavaScript SDK (pinned by gateway/e2e/jssdk/package-lock.json) for the flags agreement test.
jssdk: gateway/e2e/jssdk/node_modules/.package-lock.json

gateway/e2e/jssdk/node_modules/.package-lock.json: gateway/e2e/jssdk/package-lock.json
	cd gateway/e2e/jssdk && npm ci --no-audit --no-fund --loglevel=error

# Run only the fault-injection tests, printing their figures (make test runs them too).
test-faults:
	$(GO) test -count=1 -v -run '^TestFault_' github.com/liftlabs/lift/gateway/e2e/faults

# Run the benchmarks.
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Load-benchmark Agent-style decide with wrk against make run's stack (1 and 5 flags; OTHER=base URL alternates rounds with another server).
bench-decide: build
	out/benchdecide -bin out -other "$(OTHER)" -duration $(or $(DURATION),10s) -rounds $(or $(ROUNDS),3)

# Build every binary into ./out.
build:
	mkdir -p out
	$(GO) build -o out/ github.com/liftlabs/lift/services/identity/cmd/... github.com/liftlabs/lift/services/experiments/cmd/... github.com/liftlabs/lift/services/results/cmd/... github.com/liftlabs/lift/gateway/cmd/... github.com/liftlabs/lift/deploy/cmd/...

# Build and start the whole stack on this machine (Postgres at LIFT_PG_URL); Ctrl-C stops it.
run: build
	out/liftrun

# Run the API smoke suite against any running Lift: make smoke BASE_URL=http://… TOKEN=lift_pat_…
# The recipe is not echoed: its command line holds the token.
smoke:
	@echo "smoke suite against $(BASE_URL)"
	@BASE_URL='$(BASE_URL)' TOKEN='$(TOKEN)' $(GO) run github.com/liftlabs/lift/deploy/cmd/liftsmoke
