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
	$(BIN)/python -m aurora_express.provider_template --check

bench: $(STAMP)
	$(BIN)/python -m bench

build:
	sam build

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache

# --- sam build (BuildMethod: makefile) -----------------------------------
# Each function's code folder (its pinned arm64 wheels fetched by pip
# --platform, so no container is needed; its own part of provider/;
# bytecode) is built by aurora_express/provider_build.py, the same build the
# CDK constructs (aurora_express.cdk) bundle with.
build-ClusterProviderFunction build-MigrationsProviderFunction build-ReaperFunction:
	$(PYTHON) -m aurora_express.provider_build $(@:build-%=%) "$(ARTIFACTS_DIR)"
