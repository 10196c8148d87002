# One entry point for people and CI. `make demo` and `make test` work on a
# fresh machine: they build .venv (Python 3.13) and install what they need.

PYTHON ?= $(shell command -v python3.13 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test demo lint bench build clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 13), "Python 3.13 is needed (pyenv: see .python-version)"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Every core (pytest-xdist; each worker starts its own PostgreSQL and moto server).
# `make test TEST_WORKERS=0` runs the suite in one process, as plain `pytest` does.
TEST_WORKERS ?= auto

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

demo: $(STAMP)
	$(BIN)/aurora-express demo

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml examples/*.yaml --append-rules aurora_express.lint
	$(BIN)/cfn-lint template.yaml -a cfn_lint_serverless.rules
	$(BIN)/python -m aurora_express.schema --check

bench: $(STAMP)
	$(BIN)/python -m bench

build:
	sam build

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache

# --- sam build (BuildMethod: makefile) -----------------------------------
# Each function ships its own pinned boto3 (the runtime's copy may predate
# WithExpressConfiguration) and only its own part of provider/. Wheels are
# fetched for the Lambda platform (arm64, CPython 3.13), so no container
# is needed.
LAMBDA_PIP = $(PYTHON) -m pip install --quiet --no-compile --target "$(ARTIFACTS_DIR)" \
	--platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 \
	--implementation cp --python-version 3.13 \
	--only-binary=:all: --upgrade

# Bytecode is compiled here, once, with the runtime's Python version: Lambda's
# code folder is read-only, so without it every cold start compiles botocore
# (measured: 2.4 s instead of 1.25 s). unchecked-hash, because zip archives
# do not keep the source timestamps that ordinary .pyc files are checked against.
define copy_package
	mkdir -p "$(ARTIFACTS_DIR)/provider"
	cp provider/__init__.py "$(ARTIFACTS_DIR)/provider/"
	cp -r provider/common $(addprefix provider/,$(1)) "$(ARTIFACTS_DIR)/provider/"
	find "$(ARTIFACTS_DIR)/provider" -name __pycache__ -prune -exec rm -rf {} +
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)"
endef

build-ClusterProviderFunction:
	$(LAMBDA_PIP) -r provider/requirements-cluster.txt
	$(call copy_package,cluster)

build-MigrationsProviderFunction:
	$(LAMBDA_PIP) -r provider/requirements-migrations.txt
	$(call copy_package,migrations)

# The reaper deletes clusters with the cluster provider's own code.
build-ReaperFunction:
	$(LAMBDA_PIP) -r provider/requirements-cluster.txt
	$(call copy_package,cluster reaper)
