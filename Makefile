# Crewline: `make demo` and `make test` do every set-up step themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The interpreter of the venv: found on PATH (or by uv), else installed by deploy/local/uv.sh.
PYTHON_BIN ?= python3.11
LOCAL      := .local
UV_VERSION := 0.13.8
UV         := $(LOCAL)/uv/bin/uv
VENV       := .venv
PY         := $(VENV)/bin/python
SDK_DIR    := packages/crewline-client
GEN_DIR    := $(SDK_DIR)/crewline/v1
PROTOS     := $(wildcard protos/crewline/v1/*.proto)
STACK      := bash deploy/local/stack.sh

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help install gen dist lint k8s-render image test test-unit demo bench chaos up down status logs clean operator-credential

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# uv's wheel from PyPI, sha256 checked, unzipped: needs neither pip nor Python's venv module.
$(UV):
	bash deploy/local/uv.sh install $(UV_VERSION) $@

$(VENV)/.synced: $(UV) pyproject.toml packages/*/pyproject.toml uv.lock
	py="$$(bash deploy/local/uv.sh python $(PYTHON_BIN) $(UV))" && $(UV) sync --frozen --python "$$py"
	touch $@

$(GEN_DIR)/.generated: $(VENV)/.synced $(PROTOS)
	rm -rf $(GEN_DIR) && mkdir -p $(GEN_DIR)
	PATH="$(abspath $(VENV)/bin):$$PATH" $(PY) -m grpc_tools.protoc -Iprotos --python_out=$(SDK_DIR) \
	    --grpc_python_out=$(SDK_DIR) --mypy_out=$(SDK_DIR) --mypy_grpc_out=$(SDK_DIR) $(PROTOS)
	touch $(GEN_DIR)/__init__.py $(GEN_DIR)/py.typed $@

install: $(GEN_DIR)/.generated  ## Python env (uv, locked) and generated protobuf code

gen: $(GEN_DIR)/.generated  ## generate Python code from protos/

# The three distributions (crewline-client, crewctl, crewline-server): sdists, and wheels built
# from them, so what a wheel holds is what its sdist can rebuild.
DIST := dist
dist: install  ## build the SDK, crewctl and server wheels (and sdists) into dist/
	rm -rf $(DIST) && $(UV) build --all-packages --out-dir $(DIST)

node_modules/.bin/buf: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: install node_modules/.bin/buf dist  ## buf lint, ruff, mypy, the three wheels, the docs site; Compose, Kubernetes and dashboard checks
	node_modules/.bin/buf lint
	$(VENV)/bin/ruff check libs services packages tests tools bench chaos examples
	$(VENV)/bin/ruff format --check libs services packages tests tools bench chaos examples
	$(VENV)/bin/mypy libs/crewline services packages/crewline-client/crewline packages/crewctl/crewline \
	    tools bench chaos examples
	$(VENV)/bin/ruff check deploy
	$(VENV)/bin/ruff format --check deploy
	$(VENV)/bin/mypy deploy/grafana
	promtool="$$(bash deploy/local/promtool.sh)" && $$promtool check rules deploy/prometheus/alerts.yml \
	    && cd deploy/prometheus && $$promtool test rules alerts_test.yml
	$(VENV)/bin/hadolint Dockerfile
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir $(LOCAL)/site
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec deploy/compose/compose.yaml
	$(MAKE) --no-print-directory k8s-render
	@for f in $(K8S_OUT)/*.yaml; do \
	    echo "kubernetes-validate --strict -k $(K8S_VERSION) $$f"; \
	    $(VENV)/bin/kubernetes-validate --strict --quiet --no-warn -k $(K8S_VERSION) $$f || exit 1; \
	done
	$(PY) deploy/grafana/dashboard.py | diff -u deploy/grafana/crewline.json -
	$(PY) -m pytest -q -p no:cacheprovider tests/unit/test_deploy_dashboard.py \
	    tests/unit/test_deploy_manifests.py tests/unit/test_deploy_image.py

# Operator resources (Strimzi, CloudNativePG) have no schema in kubernetes-validate: it
# skips them (--no-warn), and tests/unit/test_deploy_manifests.py checks them instead.
K8S_VERSION := 1.32.0
K8S_OUT     := $(LOCAL)/k8s
k8s-render:  ## render each Kubernetes overlay into .local/k8s/<overlay>.yaml
	@mkdir -p $(K8S_OUT)
	@for o in deploy/k8s/overlays/*/; do \
	    name=$$(basename $$o); kubectl kustomize $$o >$(K8S_OUT)/$$name.yaml || exit 1; \
	    echo "rendered $(K8S_OUT)/$$name.yaml"; \
	done

image:  ## the container image, with podman on a Debian base made here (deploy/image/README.md)
	bash deploy/image/build.sh

up: install  ## start PostgreSQL, Kafka and the four services (idempotent)
	$(STACK) up

down:  ## stop everything `make up`, `make test` and `make chaos` started
	$(STACK) down
	@if [ -x $(PY) ]; then $(PY) tests/stack.py down; fi
	@for home in $(LOCAL)/chaos $(LOCAL)/test-chaos; do \
	    if [ -d $$home/run ]; then CREWLINE_HOME=$$home $(STACK) down; fi; done

operator-credential:  ## print the local operator credential (made by the first `make up`)
	@cat "$${CREWLINE_HOME:-$(LOCAL)}/secrets/operator.credential"

status:  ## what runs, where
	$(STACK) status

logs:  ## follow the logs of the stack
	$(STACK) logs

demo: up  ## run a small marketplace through the running stack
	$(PY) -m tools.demo

BENCH_TOOLS := $(LOCAL)/bench/kafka-tools
$(BENCH_TOOLS)/.complete:
	mkdir -p $(BENCH_TOOLS)
	for a in org.apache.kafka:kafka-tools:3.9.2 net.sourceforge.argparse4j:argparse4j:0.7.0; do \
	    mvn -B -q -Dmaven.repo.local=$${CREWLINE_MAVEN_REPO:-$$HOME/.m2/repository} dependency:copy \
	        -Dartifact=$$a -DoutputDirectory=$(abspath $(BENCH_TOOLS)) || exit 1; done
	touch $@

bench: up $(BENCH_TOOLS)/.complete  ## issue 6's benchmarks on the local stack (Go, pgbench; PYSPY=... to profile)
	PATH="$$PATH:/usr/local/go/bin" $(PY) -m bench

# A stack of its own (.local/chaos), fresh each run; the suite runs a small one (tests/e2e/test_chaos.py).
CHAOS_ARGS ?=
chaos: install  ## the marketplace under faults, then the checker (CHAOS_ARGS="--tasks 20000 --kills 100 ...")
	$(PY) -m chaos $(CHAOS_ARGS)

test: install  ## the whole suite; starts what it needs
	$(PY) -m pytest

test-unit: install  ## unit tests only (no servers)
	$(PY) -m pytest -m unit

clean: down  ## remove local state (databases, Kafka data, venv)
	bash deploy/local/postgres.sh purge
	@for home in $(LOCAL)/chaos $(LOCAL)/test-chaos; do \
	    if [ -d $$home ]; then CREWLINE_HOME=$$home bash deploy/local/postgres.sh purge; fi; done
	@if [ -x $(PY) ]; then $(PY) tests/stack.py purge; fi
	rm -rf $(LOCAL) $(VENV) $(GEN_DIR) node_modules
