# The classroom box. A fresh Debian machine needs only `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RALPH_VENV := .ralph-venv
APT_PACKAGES := chromium espeak-ng sox libsox-fmt-all nginx-light rsync wrk fonts-wqy-microhei openssh-server
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench screenshots system-deps venv ralph clean help

help:
	@echo "make demo         install everything and run the box with the sample course on http://localhost:8080"
	@echo "make test         install everything and run every test"
	@echo "make bench        run every benchmark in bench/ and print one table"
	@echo "make screenshots  capture the main pages at tablet and projector sizes"

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

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel
	$(BIN)/pip install -q -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

$(RALPH_VENV)/.installed:
	@test -x $(RALPH_VENV)/bin/python || $(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/pip install -q "ralph-malph[cli,lrs,backend-lrs]==5.1.0" requests
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
