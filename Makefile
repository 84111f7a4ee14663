# benchhost: thin wrapper over cargo and the scripts. `make` lists the targets.
SHELL := /bin/bash
PROFILE ?= dittofs-badger-s3
BENCHHOST := target/release/benchhost

.DEFAULT_GOAL := help
.PHONY: help build up down status list logs mount umount doctor clean drop-caches dry-run test images local-images clean-cache vm

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo "  PROFILE=$(PROFILE) (see \`make list\`)"

build: ## Build benchhost (release) with the built-in plugins embedded; installs the wasm32-wasip2 target if missing
	@rustc --print target-libdir --target wasm32-wasip2 >/dev/null 2>&1 && [ -d "$$(rustc --print target-libdir --target wasm32-wasip2)" ] \
		|| rustup target add wasm32-wasip2
	cargo build --release

up: build ## Start PROFILE, wait until it answers, provision it, print the mount command
	$(BENCHHOST) up $(PROFILE)

down: build ## Stop PROFILE and remove its containers, network and volumes
	$(BENCHHOST) down $(PROFILE)

status: build ## Show what is up
	$(BENCHHOST) status

list: build ## List every profile
	$(BENCHHOST) list

logs: build ## Show PROFILE's container logs (FOLLOW=1 to keep following)
	$(BENCHHOST) logs $(PROFILE) $(if $(FOLLOW),--follow)

mount: build ## Mount PROFILE on this machine (DIR=/mnt/... to choose where; PRINT=1 to only print the command)
	$(BENCHHOST) mount $(PROFILE) $(if $(DIR),--dir $(DIR)) $(if $(PRINT),--print)

umount: build ## Unmount what `make mount` mounted for PROFILE
	$(BENCHHOST) umount $(PROFILE)

doctor: build ## Check this machine's prerequisites (Docker, Compose, fio, mount helpers, FUSE, nfsd, ports, disk, arch)
	$(BENCHHOST) doctor

clean: build ## Remove every container, network and volume benchhost created, from any run (IMAGES=1: also images it built)
	$(BENCHHOST) clean $(if $(IMAGES),--images)

drop-caches: build ## Flush the host's page cache between benchmark runs
	$(BENCHHOST) drop-caches

dry-run: build ## Print every action `make up` would take for PROFILE, and take none
	$(BENCHHOST) up $(PROFILE) --dry-run

images: ## Build every local image (each tests/images/NAME/recipe.sh) from Debian packages, PyPI and the Go module proxy (needs root)
	for r in tests/images/*/recipe.sh; do tests/images/build.sh "$$(basename "$$(dirname "$$r")")" || exit 1; done

vm: ## Build the client VM `benchhost vm run` boots (tests/vm/build.sh; Debian kernel, busybox, static fio, mount helpers; cached in ~/.cache/benchhost/client-vm; FORCE=1 rebuilds)
	tests/vm/build.sh $(if $(FORCE),--force)

local-images: ## For machines without an image registry: build the local images and point .env's *_IMAGE settings at them
	tests/local-images.sh

test: ## Run every test; installs/starts what they need (wasm target, Docker engine, debootstrap, clients, test images); ShellCheck over every script
	tests/setup.sh
	tests/shellcheck.sh
	BENCHHOST_REQUIRE_DOCKER=$${BENCHHOST_REQUIRE_DOCKER:-1} cargo test --workspace
	cd plugins && CARGO_TARGET_DIR=../target/wasm-plugins cargo test --workspace --lib

clean-cache: ## Remove wasmtime's compiled-plugin cache
	rm -rf "$${XDG_CACHE_HOME:-$$HOME/.cache}/benchhost/wasmtime"

.PHONY: bench-overhead
bench-overhead: build ## Measure what `benchhost bench` costs a cell against fio by hand, on the client VM and FUSE (benches/bench_overhead.py; root, the test images and the VM)
	python3 benches/bench_overhead.py

.PHONY: bench
bench: build ## Measure list/up/down against the README's performance goals and docker compose (benches/perf.sh; BENCH_RUNS=5; needs an empty engine)
	benches/perf.sh
