# Palisade build and test entry points. `make up` and `make test` need no prior set-up.
SHELL := /bin/bash
.PHONY: setup setup-runtime build build-bpf build-native build-ts gen-proto test test-only lint typecheck up services-start services-stop clean

setup:
	bash scripts/setup.sh

setup-runtime:
	bash scripts/setup.sh --runtime

gen-proto:
	bash proto/generate.sh

build-bpf:
	$(MAKE) -C bpf

build-native: build-bpf
	bash collector/native/build.sh

build-ts: gen-proto
	npx tsc -p tsconfig.json

build: build-bpf build-native build-ts

lint:
	npx eslint .

typecheck: gen-proto
	npx tsc -p tsconfig.json --noEmit

services-start:
	bash test/infra/services.sh start

services-stop:
	bash test/infra/services.sh stop

# The whole suite: set-up, build, lint, typecheck, services, tests.
test: setup build lint services-start
	node scripts/run-tests.mjs

# Tests only, for a machine already set up: make test-only T=kafka
test-only:
	node scripts/run-tests.mjs $(T)

up: setup-runtime build
	node dist/cli/main.js up

clean:
	rm -rf dist collector/native/build bpf/build bpf/*.o bpf/vmlinux.h
