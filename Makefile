# aigov — developer commands. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

UV_VERSION := 0.13.8
# uv from PATH, else where `pip install --user` puts it (see the `uv` target).
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
RUN := $(UV) run --frozen
STACK := $(RUN) python deploy/local/stack.py
SERVICES := $(RUN) python deploy/local/services.py
PYTEST_ARGS ?=
# `make test` runs the test files on this many workers (pytest-xdist, one file per worker at a
# time, so module fixtures are set up once): about half of the suite's time is spent waiting on
# Kafka, PostgreSQL and child processes. The workers share one local Kafka and PostgreSQL.
# `make test PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= 2

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: uv
uv: # Install uv (pinned) with pip when it is missing: a fresh machine needs only Python and make
	@command -v $(UV) >/dev/null 2>&1 || { \
		echo "installing uv $(UV_VERSION) with pip (--user)"; \
		python3 -m pip install --user --quiet "uv==$(UV_VERSION)" || \
		python3 -m pip install --user --quiet --break-system-packages "uv==$(UV_VERSION)"; }

.PHONY: install-python
install-python: uv ## Install the Python workspace (uv sync; uses the machine's Python 3.11+)
	$(UV) sync --frozen

.PHONY: install
install: install-python ## install-python, and fetch the Kafka broker jars (for `make up` and the tests)
	$(STACK) fetch

# `make run` logs to this file; `make run AIGOV_LOG_FILE=` logs to the console instead.
AIGOV_LOG_FILE ?= .local/logs/aigov.log

.PHONY: run
run: uv ## Run all of aigov in one process on :8080 with demo data (logs: .local/logs/aigov.log; AIGOV_LOG_FILE= for the console)
	@# Only what running needs, quietly; --inexact keeps the dev tools `make test` installed.
	@# `--check` (a few ms) tells whether anything is missing: say so only then.
	@$(UV) sync --frozen --no-dev --inexact --check --quiet 2>/dev/null || { \
		echo "installing aigov's runtime dependencies…"; \
		$(UV) sync --frozen --no-dev --inexact --quiet; }
	@AIGOV_DEMO=true AIGOV_LOG_FILE='$(AIGOV_LOG_FILE)' $(UV) run --frozen --no-sync python -m aigov_embedded

.PHONY: demo
demo: ## Load the demo data into the services `make up` started
	$(RUN) python -m aigov_embedded.demo --intake-url http://127.0.0.1:8081 \
		--tiering-url http://127.0.0.1:8082 --evidence-url http://127.0.0.1:8083 \
		--router-url http://127.0.0.1:8084

.PHONY: up
up: install ## Start local Kafka, PostgreSQL and every service, each as its own process
	$(STACK) start all
	$(SERVICES) start

.PHONY: down
down: ## Stop everything `make up` started
	-$(SERVICES) stop
	$(STACK) stop all

.PHONY: status
status: ## Show what is running locally and where
	$(STACK) status
	$(SERVICES) status

.PHONY: test
test: install lint typecheck docs-check ## Lint, type-check and run every test (starts Kafka and PostgreSQL as needed)
	$(RUN) pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: ## Run the unit tests only (no I/O)
	$(RUN) pytest tests/unit $(PYTEST_ARGS)

.PHONY: test-integration
test-integration: ## Run the integration tests (real Kafka and PostgreSQL)
	$(RUN) pytest tests/integration $(PYTEST_ARGS)

.PHONY: bench
bench: install ## Run the benchmarks and write their reports under bench/reports
	$(RUN) python bench/bench_bus.py
	$(RUN) python bench/bench_intake.py
	$(RUN) python bench/bench_tiering.py
	$(RUN) python bench/bench_evidence.py
	@# Alertmanager, for comparison, is built from source when a Go toolchain is present.
	$(RUN) python bench/bench_router.py $(if $(shell command -v go),--alertmanager,)

.PHONY: rebuild-projections
rebuild-projections: ## Recompute the evidence projections from the ledger (same state, by replay)
	$(RUN) python -m aigov_evidence.rebuild

.PHONY: lint
lint: ## ruff lint and format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

.PHONY: format
format: ## Format and auto-fix with ruff
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

.PHONY: typecheck
typecheck: ## mypy --strict over libs, services, tests, deploy scripts and benchmarks
	$(RUN) mypy

.PHONY: docs
docs: ## Regenerate the event schemas (docs/events/, docs/events.md) and the control library (docs/controls.md)
	$(RUN) python -m aigov_events.catalog.docs --out docs
	$(RUN) python -m aigov_tiering.docs --out docs

.PHONY: docs-check
docs-check: ## Fail if the generated docs (events, control library) are stale
	$(RUN) python -m aigov_events.catalog.docs --out docs --check
	$(RUN) python -m aigov_tiering.docs --out docs --check

.PHONY: helm-check
helm-check: ## Lint the Helm chart (not built yet: arrives with the deployment issue)
	@echo "helm-check: deploy/helm/aigov does not exist yet; nothing to check." ; exit 1

.PHONY: clean-local
clean-local: down ## Stop everything and delete local Kafka/PostgreSQL data (.local/)
	rm -rf .local
