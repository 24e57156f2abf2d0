# llm_engineering: Hugging Face model -> SageMaker endpoint -> test -> delete.
# Every target installs what it needs first (Poetry included), so a fresh clone only needs Python 3.11+.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
# Use the Poetry on PATH when there is one, else a private copy bootstrapped into .tools/.
POETRY ?= $(shell command -v poetry 2>/dev/null || echo $(TOOLS)/poetry/bin/poetry)
# Poetry resolves through the same index as pip (PIP_INDEX_URL, else pip's config, else pip's default),
# read at run time so no index host is ever written into the repository.
PIP_INDEX = $${PIP_INDEX_URL:-$$($(PYTHON) -m pip config get global.index-url 2>/dev/null \
	|| $(PYTHON) -m pip config get install.index-url 2>/dev/null \
	|| $(PYTHON) -c 'from pip._internal.models.index import PyPI; print(PyPI.simple_url)')}
POETRY_ENV = POETRY_PYPI_MIRROR_URL="$(PIP_INDEX)" POETRY_VIRTUALENVS_IN_PROJECT=true
# Extra arguments for the scripts, e.g. `make deploy-inference-endpoint ARGS=--dry-run`.
ARGS ?=
PROMPT ?= What is the capital of France? Answer in one sentence.
DEPLOY := $(PY) -m llm_engineering.model.deploy
SOURCES := $(shell find llm_engineering -name '*.py' 2>/dev/null)

.PHONY: help install lock lint test emulator demo workflow preflight \
	create-sagemaker-role delete-sagemaker-role \
	create-sagemaker-execution-role delete-sagemaker-execution-role \
	deploy-inference-endpoint test-inference status delete-inference-endpoint clean

help: ## Show every target with what it does
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-34s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(TOOLS)/poetry/bin/poetry:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
		{ echo "error: Python 3.11 or newer is needed as '$(PYTHON)': install it or run make PYTHON=python3.11" >&2; exit 2; }
	@echo "Installing Poetry into $(TOOLS)/poetry (once)..."
	@$(PYTHON) -m venv $(TOOLS)/poetry
	@$(TOOLS)/poetry/bin/python -m pip install --quiet --disable-pip-version-check "poetry>=2.1,<3" "poetry-plugin-pypi-mirror>=0.6"

$(VENV)/.installed: pyproject.toml poetry.lock | $(POETRY)
	@echo "Installing the project into $(VENV)..."
	@$(POETRY_ENV) $(POETRY) install --no-interaction --quiet --compile
	@touch $@

# Bytecode for the project's own modules, refreshed when a source changes: where PYTHONDONTWRITEBYTECODE is
# set (some CI and sandbox machines), Python would otherwise compile them again at every command's start.
$(VENV)/.compiled: $(VENV)/.installed $(SOURCES)
	@$(PY) -m compileall -q llm_engineering
	@touch $@

install: $(VENV)/.compiled ## Install Poetry if missing, then the project and its tools into .venv

lock: | $(POETRY) ## Re-resolve poetry.lock after editing pyproject.toml
	@$(POETRY_ENV) $(POETRY) lock

lint: install ## Check the code with ruff
	@$(PY) -m ruff check .

test: install ## Run ruff and the test suite (unit and end-to-end, all offline)
	@$(PY) -m ruff check .
	@$(PY) -m pytest -q $(ARGS)

create-sagemaker-role: install ## Create the IAM deployer user, its least-privilege policy and an access key
	@$(DEPLOY).create_sagemaker_role $(ARGS)

delete-sagemaker-role: install ## Delete the deployer user with its keys and policies
	@$(DEPLOY).create_sagemaker_role --delete $(ARGS)

create-sagemaker-execution-role: install ## Create (or repair) the role SageMaker assumes to run the model
	@$(DEPLOY).create_sagemaker_execution_role $(ARGS)

delete-sagemaker-execution-role: install ## Delete the SageMaker execution role
	@$(DEPLOY).create_sagemaker_execution_role --delete $(ARGS)

preflight: install ## Check identity, role, quota, model access, memory fit and price before deploying
	@$(DEPLOY).preflight $(ARGS)

deploy-inference-endpoint: install ## Deploy HF_MODEL_ID on a SageMaker endpoint (plan, create, wait, explain failures)
	@$(DEPLOY).deploy $(ARGS)

test-inference: install ## Send one prompt to the endpoint and stream the answer (PROMPT="...")
	@$(PY) test.py --prompt "$(PROMPT)" $(ARGS)

status: install ## List the endpoints this tool created in the region, with what they cost so far
	@$(DEPLOY).status $(ARGS)

delete-inference-endpoint: install ## Delete the endpoint with its components, configs and models (ENDPOINT_NAME=...)
	@$(DEPLOY).delete $(if $(ENDPOINT_NAME),--endpoint-name "$(ENDPOINT_NAME)") $(ARGS)

# --- Staged weights (S3) ---
.PHONY: stage-model delete-staged-model
stage-model: install ## Copy HF_MODEL_ID from the Hub into S3 once (MODEL_S3_BUCKET or MODEL_S3_URI); ARGS=--verify re-checks
	@$(DEPLOY).stage_model $(ARGS)

delete-staged-model: install ## Delete one staged model from S3 (refuses while an endpoint of this tool loads it)
	@$(DEPLOY).delete_staged_model $(ARGS)

demo: install ## Run the whole workflow twice (model-based, inference component) on the local AWS emulator
	@$(PY) -m llm_engineering.local.demo

workflow: install ## Roles, deploy, test, delete against your AWS account; the delete runs even if a step failed
	@status=0; \
	$(MAKE) create-sagemaker-execution-role && \
	$(MAKE) deploy-inference-endpoint && \
	$(MAKE) test-inference || status=$$?; \
	$(MAKE) delete-inference-endpoint || status=$$?; \
	exit $$status

emulator: install ## Run the local AWS emulator in the foreground and print the environment to use it
	@$(PY) -m llm_engineering.local $(ARGS)

clean: ## Remove the virtual environment and the bootstrapped Poetry
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
