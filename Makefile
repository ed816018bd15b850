# aigov — developer commands. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

UV ?= uv
RUN := $(UV) run --frozen
STACK := $(RUN) python deploy/local/stack.py
SERVICES := $(RUN) python deploy/local/services.py
PYTEST_ARGS ?=

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: install
install: ## Install the Python workspace (uv sync) and fetch the Kafka broker jars
	@command -v $(UV) >/dev/null || { echo "uv is missing: pip install uv (or run .ci/run, which installs it)"; exit 1; }
	$(UV) sync --frozen
	$(STACK) fetch

.PHONY: run
run: install ## Run aigov on its embedded default (one process, SQLite, embedded bus) and show it working
	$(RUN) python deploy/local/embedded_demo.py

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
	$(RUN) pytest $(PYTEST_ARGS)

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
docs: ## Regenerate the event JSON Schemas (docs/events/) and the catalog page (docs/events.md)
	$(RUN) python -m aigov_events.catalog.docs --out docs

.PHONY: docs-check
docs-check: ## Fail if docs/events is stale
	$(RUN) python -m aigov_events.catalog.docs --out docs --check

.PHONY: helm-check
helm-check: ## Lint the Helm chart (not built yet: arrives with the deployment issue)
	@echo "helm-check: deploy/helm/aigov does not exist yet; nothing to check." ; exit 1

.PHONY: clean-local
clean-local: down ## Stop everything and delete local Kafka/PostgreSQL data (.local/)
	rm -rf .local
