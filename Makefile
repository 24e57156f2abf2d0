# llm_engineering: Hugging Face model -> SageMaker endpoint -> test -> delete.
# Every target installs what it needs first (Poetry included), so a fresh clone only needs Python 3.11+.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
# Use the Poetry on PATH when there is one, else a private copy bootstrapped into .tools/.
ifeq ($(origin POETRY),undefined)
POETRY := $(shell command -v poetry 2>/dev/null || echo .tools/poetry/bin/poetry)
endif

# --- What users pass: make <target> NAME=value ----------------------------------------------------------------
# ARGS: extra arguments for one script, e.g. `make deploy-inference-endpoint ARGS=--dry-run` (split like a shell
# splits words, quotes included, but never run). `make workflow` gives each step its own: ROLE_ARGS (execution
# role), DEPLOY_ARGS, TEST_ARGS and DELETE_ARGS. ENDPOINT_NAME=... names the endpoint for every target (the
# settings read it, and it wins over SAGEMAKER_ENDPOINT_INFERENCE); PROMPT is what test-inference asks; TTL is
# how long from now make extend-ttl lets the endpoint live.
ARGS ?=
ROLE_ARGS ?=
DEPLOY_ARGS ?=
TEST_ARGS ?=
DELETE_ARGS ?=
PROMPT ?= What is the capital of France? Answer in one sentence.
ENDPOINT_NAME ?=
TTL ?=
USER_VARIABLES := PYTHON POETRY ARGS ROLE_ARGS DEPLOY_ARGS TEST_ARGS DELETE_ARGS PROMPT ENDPOINT_NAME TTL
# A user's value is taken literally and reaches the scripts through the environment only: make never expands
# `$(...)` inside it, and recipes read it as "$$NAME", so no shell ever parses it. The same holds for settings
# given on the command line (make deploy-inference-endpoint HF_MODEL_ID=...). The tool's own variables below
# are `override`: a command-line value cannot replace the commands the recipes run.
$(foreach name,$(USER_VARIABLES),$(eval override $(name) := $$(value $(name)))$(eval export $(name)))
$(foreach name,$(filter-out $(USER_VARIABLES) MAKEFLAGS MFLAGS MAKEOVERRIDES,$(.VARIABLES)),$(if \
    $(filter command line,$(origin $(name))),$(eval override $(name) := $$(value $(name)))$(eval export $(name))))

override VENV := .venv
override PY := $(VENV)/bin/python
override TOOLS := .tools
# Poetry resolves through the same index as pip (PIP_INDEX_URL, else pip's config, else pip's default),
# read at run time so no index host is ever written into the repository.
override PIP_INDEX = $${PIP_INDEX_URL:-$$("$$PYTHON" -m pip config get global.index-url 2>/dev/null \
	|| "$$PYTHON" -m pip config get install.index-url 2>/dev/null \
	|| "$$PYTHON" -c 'from pip._internal.models.index import PyPI; print(PyPI.simple_url)')}
override POETRY_ENV = POETRY_PYPI_MIRROR_URL="$(PIP_INDEX)" POETRY_VIRTUALENVS_IN_PROJECT=true
override DEPLOY := $(PY) -m llm_engineering.model.deploy
# A script with the words of $(1) (a user variable) as extra arguments: the script splits them (cli.py).
override SCRIPT_ARGS = LLM_ENGINEERING_ARGS="$$$(1)"
override SOURCES := $(shell find llm_engineering -name '*.py' 2>/dev/null)

.PHONY: help install lock lint test emulator demo workflow preflight \
	create-sagemaker-role delete-sagemaker-role \
	create-sagemaker-execution-role delete-sagemaker-execution-role \
	deploy-inference-endpoint test-inference status delete-inference-endpoint clean

help: ## Show every target with what it does
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-34s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(TOOLS)/poetry/bin/poetry:
	@"$$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
		{ echo "error: Python 3.11 or newer is needed as '$$PYTHON': install it or run make PYTHON=python3.11" >&2; exit 2; }
	@echo "Installing Poetry into $(TOOLS)/poetry (once)..."
	@"$$PYTHON" -m venv $(TOOLS)/poetry
	@$(TOOLS)/poetry/bin/python -m pip install --quiet --disable-pip-version-check "poetry>=2.1,<3" "poetry-plugin-pypi-mirror>=0.6"

$(VENV)/.installed: pyproject.toml poetry.lock | $(POETRY)
	@echo "Installing the project into $(VENV)..."
	@$(POETRY_ENV) "$$POETRY" install --no-interaction --quiet --compile
	@touch $@

# Bytecode for the project's own modules, refreshed when a source changes: where PYTHONDONTWRITEBYTECODE is
# set (some CI and sandbox machines), Python would otherwise compile them again at every command's start.
$(VENV)/.compiled: $(VENV)/.installed $(SOURCES)
	@$(PY) -m compileall -q llm_engineering
	@touch $@

install: $(VENV)/.compiled ## Install Poetry if missing, then the project and its tools into .venv

lock: | $(POETRY) ## Re-resolve poetry.lock after editing pyproject.toml
	@$(POETRY_ENV) "$$POETRY" lock

lint: install ## Check the code with ruff and the layer contracts (import-linter)
	@$(PY) -m ruff check .
	@$(VENV)/bin/lint-imports --no-cache --no-logo

# The suite runs on every core (at most 4): each worker has its own emulator, and most end-to-end time is
# spent waiting on subprocesses; the slowest tests start first (tests/conftest.py). ARGS=-n0 runs it in one
# process (e.g. to debug with -x --pdb); ARGS="-m unit" runs only the unit layer (also -m emulator, -m e2e).
test: install ## Run ruff, the layer contracts and the test suite (unit and end-to-end, all offline); ARGS go to pytest
	@$(PY) -m ruff check .
	@$(VENV)/bin/lint-imports --no-cache --no-logo
	@PYTEST_ADDOPTS="$$ARGS" $(PY) -m pytest -q -n auto --maxprocesses 4

create-sagemaker-role: install ## Create the IAM deployer user, its least-privilege policy and an access key
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).create_sagemaker_role

delete-sagemaker-role: install ## Delete the deployer user with its keys and policies
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).create_sagemaker_role --delete

create-sagemaker-execution-role: install ## Create (or repair) the role SageMaker assumes to run the model
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).create_sagemaker_execution_role

delete-sagemaker-execution-role: install ## Delete the SageMaker execution role
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).create_sagemaker_execution_role --delete

preflight: install ## Check identity, role, quota, model access, memory fit and price before deploying
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).preflight

deploy-inference-endpoint: install ## Deploy HF_MODEL_ID on a SageMaker endpoint (plan, create, wait, explain failures)
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).deploy

test-inference: install ## Send one prompt to the endpoint and stream the answer (PROMPT="...")
	@$(call SCRIPT_ARGS,ARGS) $(PY) test.py --prompt "$$PROMPT"

status: install ## List the endpoints this tool created in the region, with what they cost so far
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).status

delete-inference-endpoint: install ## Delete the endpoint with its components, configs and models (ENDPOINT_NAME=...)
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).delete

# --- Staged weights (S3) ---
.PHONY: stage-model delete-staged-model
stage-model: install ## Copy HF_MODEL_ID from the Hub into S3 once (MODEL_S3_BUCKET or MODEL_S3_URI); ARGS=--verify re-checks
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).stage_model

delete-staged-model: install ## Delete one staged model from S3 (refuses while an endpoint of this tool loads it)
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).delete_staged_model

# --- Benchmarks (latency and throughput under load) ---
.PHONY: benchmark benchmark-compare
benchmark: install ## Measure TTFT, ITL, E2E and throughput over a concurrency sweep; JSON and PNG in benchmarks/results/
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).benchmark

benchmark-compare: install ## Results side by side; ARGS="a.json b.json --slo-ttft-ms 500" picks the cheapest that meets it
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).benchmark_compare

# --- Watching and bounding a live endpoint: metrics, time limit (ENDPOINT_TTL), cleanup ---
.PHONY: metrics extend-ttl cleanup
metrics: install ## Show the endpoint's CloudWatch metrics with sparklines (ARGS="--since 30m", --json, --png FILE)
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).metrics

extend-ttl: install ## Move the endpoint's time limit to TTL from now (make extend-ttl TTL=2h), or set one
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).extend_ttl --ttl "$$TTL"

cleanup: install ## List what this tool left unused, with its cost (ARGS=--yes deletes; --older-than 7d, --include-staged)
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).cleanup

# --- Security: invoke-only access, key rotation, IAM audit ---
.PHONY: create-invoke-policy
create-invoke-policy: install ## Create or repair a policy that may invoke ENDPOINT_NAME only (ARGS=--delete removes it)
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).create_invoke_policy

.PHONY: rotate-deployer-key
rotate-deployer-key: install ## Replace the deployer's stored access key by a new one, proven before the old is deleted
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).rotate_deployer_key

.PHONY: audit-iam
audit-iam: install ## Audit the deployer user and execution role: keys, MFA, unused permissions, fixes (ARGS=--json)
	@$(call SCRIPT_ARGS,ARGS) $(DEPLOY).audit_iam

demo: install ## Run the whole workflow on the local AWS emulator (model-based, inference component, then ENGINE=vllm)
	@$(PY) -m llm_engineering.local.demo

workflow: install ## Role, deploy, test, delete (ROLE_ARGS, DEPLOY_ARGS, TEST_ARGS, DELETE_ARGS); delete always runs
	@if [ -n "$$ARGS" ]; then \
		echo "error: make workflow does not take ARGS (each step accepts other arguments): use ROLE_ARGS," \
			"DEPLOY_ARGS, TEST_ARGS or DELETE_ARGS, e.g. make workflow DEPLOY_ARGS=--yes. Nothing was run." >&2; \
		exit 2; \
	fi
	@status=0; \
	$(MAKE) create-sagemaker-execution-role ARGS="$$ROLE_ARGS" && \
	$(MAKE) deploy-inference-endpoint ARGS="$$DEPLOY_ARGS" && \
	$(MAKE) test-inference ARGS="$$TEST_ARGS" || status=$$?; \
	$(MAKE) delete-inference-endpoint ARGS="$$DELETE_ARGS" || status=$$?; \
	exit $$status

emulator: install ## Run the local AWS emulator in the foreground and print the environment to use it
	@$(call SCRIPT_ARGS,ARGS) $(PY) -m llm_engineering.local

clean: ## Remove the virtual environment and the bootstrapped Poetry
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
