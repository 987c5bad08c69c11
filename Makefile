# The README's two commands:  make run  (set up and run the bot)  ·  make test  (run the tests).
# Both keep a virtualenv in .venv and reinstall only when pyproject.toml changes.
# The Dockerfile installs the same way: a venv, then `pip install -e .` (serving deps only).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run check test bench docker-check clean help
.DEFAULT_GOAL := help

help:
	@echo "make run    - install the bot (serving deps only) into $(VENV) and run it (reads .env)"
	@echo "make check  - validate the configuration and load the models, then exit"
	@echo "make test   - install the dev extras into $(VENV) and run the test suite"
	@echo "make bench  - print the bot's latency / burst / cold-start / memory figures"
	@echo "make docker-check - build the Docker image and load the models in it (offline)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps: serving install, and the dev install on top of it (which includes TensorFlow for
# training and the comparison benches; the bot itself never imports it).
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/python -m bot

check: $(VENV)/.installed-run
	$(BIN)/python -m bot --check

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(VENV)/.installed-run
	$(BIN)/python -m bench.bot_load

# Build the image with the shared smoke tool and load its models and catalog inside, offline
# (a made-up token of the right shape: --check never contacts Telegram). CI does more: .ci/run.
docker-check:
	DOCKER_RUN_ARGS="--network none -e TELEGRAM_BOT_TOKEN=123456:not-a-real-token-0123456789" \
	  ../shared/tools/docker-smoke.sh . python -m bot --check

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
