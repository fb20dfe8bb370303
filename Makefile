# The classroom box. A fresh Debian machine needs only `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RALPH_VENV := .ralph-venv
APT_PACKAGES := build-essential chromium espeak-ng sox libsox-fmt-all nginx-light rsync wrk fonts-wqy-microhei openssh-server \
	libnss3-tools
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench screenshots system-deps venv ralph lock llama-wheel clean help

help:
	@echo "make demo         install everything and run the box with the sample course on http://localhost:8080"
	@echo "make test         install everything and run every test"
	@echo "make bench        run every benchmark in bench/ and print one table"
	@echo "make screenshots  capture the main pages at tablet and projector sizes"
	@echo "make lock         re-resolve requirements.lock and requirements-ralph.lock (exact versions + hashes)"
	@echo "make llama-wheel  build the portable llama-cpp-python wheel (all CPU variants) and print its path"

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing"; \
	    echo "run: sudo apt-get install$$missing   (or run make as root)"; exit 1; \
	  fi; \
	fi

# Exact versions with hashes from requirements.lock; llama-cpp-python from the portable wheel built (or reused)
# by scripts/build-llama-wheel.sh, never compiled for this CPU.
$(STAMP): pyproject.toml requirements.lock scripts/build-llama-wheel.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@whl=$$(PYTHON=$(BIN)/python bash scripts/build-llama-wheel.sh) && \
	  $(BIN)/pip install -q --no-deps --force-reinstall "$$whl"
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

llama-wheel:
	@bash scripts/build-llama-wheel.sh

# Refresh the locks (the only command that changes versions): resolved for Linux x86-64 and arm64, Python 3.11+.
lock:
	$(PYTHON) -m pip install -q "uv==0.13.9"
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes \
	  --no-header -q -o requirements.lock
	$(PYTHON) -m uv pip compile requirements-ralph.in --universal --python-version 3.11 --generate-hashes \
	  --no-header -q -o requirements-ralph.lock

$(RALPH_VENV)/.installed: requirements-ralph.lock
	@test -x $(RALPH_VENV)/bin/python || $(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/pip install -q --require-hashes -r requirements-ralph.lock
	@touch $@

ralph: $(RALPH_VENV)/.installed

demo: system-deps venv
	$(BIN)/edge-server demo

test: system-deps venv ralph
	$(BIN)/ruff check .
	$(BIN)/pytest -q -p no:cacheprovider

lint: venv
	$(BIN)/ruff check .

bench: system-deps venv ralph
	$(BIN)/python -m bench

screenshots: system-deps venv
	$(BIN)/python -m tests.e2e.screenshots

clean:
	rm -rf $(VENV) $(RALPH_VENV) var .pytest_cache
