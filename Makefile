# dgtext: one-word entry points. `make test` is the README's test command and what CI
# runs; `make demo` is the README's main job. Both run `make setup` first, which finds
# or installs libtorch and prepares the gotch bindings (cached after the first run).

GO       ?= go
BIN      := bin/dgtext
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
# Shared data beside the checkout, as laid out on the team's machines and in CI.
SHARED   ?= $(abspath ../shared/data)
BW       := $(SHARED)/billion-words
EVAL13   := 1-billion-word-language-modeling-benchmark-r13output/heldout-monolingual.tokenized.shuffled/news.en.heldout-00013-of-00050

.PHONY: setup build test test-long readme-check demo bench fmt vet clean

## setup: find or install libtorch and generate the gotch bindings (idempotent)
setup:
	@GOWORK=off $(GO) run ./cmd/dgtext-setup $(if $(V),-v)

## build: the dgtext binary in bin/
build: setup
	@$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/dgtext

## test: everything a new user or CI needs: setup, build, vet, the test suite, a doctor run
test: build
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	./$(BIN) doctor

## test-long: slower checks gated out of the default run (longer training, fuzzing), then readme-check
test-long: build
	DGTEXT_LONG=1 $(GO) test -count=1 -timeout 60m ./...
	$(MAKE) --no-print-directory readme-check

## readme-check: run the README commands whose output it shows (doctor, eval calibration, demo) and
## compare the figures it states (tolerances in README "Which figures are exact where").
## UPDATE=1 rewrites the demo block from the current build; ONLY=demo,eval-calibration,doctor picks checks.
readme-check: build
	$(GO) run ./cmd/readme-check -readme README.md $(if $(UPDATE),-update) $(if $(ONLY),-only $(ONLY))

## demo: the main job: refine the bundled model's samples with DGflow and score them
demo: build
	./$(BIN) refine --corpus billion-words --data-dir $(BW) --eval-files $(EVAL13) --n 2000 --out out/refined.parquet --plot out/refine.png

## bench: benchmarks (figures are ratios against a baseline measured in the same run)
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin out
