# benchhost: thin wrapper over cargo and the scripts. `make` lists the targets.
SHELL := /bin/bash
PROFILE ?= dittofs-badger-s3
BENCHHOST := target/release/benchhost

.DEFAULT_GOAL := help
.PHONY: help build up down status list test images clean-cache

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

images: ## Build every local image (ganesha + each tests/images/*/recipe.sh) from Debian packages and PyPI (needs root)
	tests/images/build.sh ganesha
	for r in tests/images/*/recipe.sh; do tests/images/build.sh "$$(basename "$$(dirname "$$r")")" || exit 1; done

test: ## Run every test; installs/starts what they need (wasm target, Docker, debootstrap, libnfs-utils, test images)
	tests/setup.sh
	BENCHHOST_REQUIRE_DOCKER=$${BENCHHOST_REQUIRE_DOCKER:-1} cargo test --workspace
	cd plugins && CARGO_TARGET_DIR=../target/wasm-plugins cargo test --workspace --lib

clean-cache: ## Remove wasmtime's compiled-plugin cache
	rm -rf "$${XDG_CACHE_HOME:-$$HOME/.cache}/benchhost/wasmtime"
