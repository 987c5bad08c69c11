# The README's quick start:  make run  (set up and run the bot)  ·  make test  (run the tests).
# Both keep a virtualenv in .venv and reinstall only when pyproject.toml changes; a venv made by
# another Python is rebuilt. The Dockerfile installs the same way (serving deps only).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
VENV_MADE := $(VENV)/.made-by-python-$(PY_VERSION)

.PHONY: run check test test-slow bench translations translations-check venv docker-check clean help
.DEFAULT_GOAL := help

help:
	@echo "make run        - install the bot (serving deps only) into $(VENV) and run it (reads .env)"
	@echo "make check      - validate the configuration and load the models, then exit"
	@echo "make test       - install the dev extras (with TensorFlow: $(VENV) grows to ~2.3 GB) and run the tests (~5 min);"
	@echo "                  INSTALL_POSTGRES=1 (as root) apt-installs PostgreSQL system-wide for its tests, else they skip"
	@echo "make test-slow  - the TensorFlow training tests left out of make test (CI runs both)"
	@echo "make bench      - print the bot's latency / burst / cold-start / memory figures"
	@echo "make translations - after changing a text: re-extract the English and update every language's .po"
	@echo "make clean      - delete $(VENV) and build leftovers"
	@echo "Options: PYTHON=python3.12 (any Python 3.11+, default python3), VENV=path"
	@echo "Development: make docker-check - build the image with ../shared/tools/docker-smoke.sh"
	@echo "  (starts its own Docker engine as root) and load the models in it, offline"

# One venv per interpreter: the stamp names the Python that made it.
$(VENV_MADE):
	@case "$(PY_VERSION)" in 3.1[1-9]|3.[2-9][0-9]) ;; \
	  *) echo "error: $(PYTHON) is Python $(or $(PY_VERSION),unknown) but the bot needs 3.11 or newer: run make PYTHON=python3.11 $(or $(MAKECMDGOALS),help)" >&2; exit 1;; esac
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	@touch $@

venv: $(VENV_MADE)

# Stamps: serving install, and the dev install on top of it (which includes TensorFlow for
# training and the comparison benches; the bot itself never imports it).
$(VENV)/.installed-run: pyproject.toml $(VENV_MADE)
	$(BIN)/python -m pip install -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV_MADE)
	@echo "installing the dev extras into $(VENV): TensorFlow and the test tools, about 1.9 GB on top of the bot's 0.5 GB (once; make clean removes it)"
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/python -m bot

check: $(VENV)/.installed-run
	$(BIN)/python -m bot --check

test: $(VENV)/.installed-dev
	@INSTALL_POSTGRES=$(INSTALL_POSTGRES) bash .ci/install-postgres.sh
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-slow: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -m slow $(PYTEST_ARGS)

bench: $(VENV)/.installed-run
	$(BIN)/python -m bench.bot_load

# Babel pulls the English texts out of bot/ into the template and merges them into each catalog;
# a new or changed text then shows up untranslated (or fuzzy) until a translator fills it in, and
# tests/test_translations.py fails until then. The bot reads the .po files directly (bot/i18n.py).
# No source line numbers in the catalogs: every text is in bot/texts.py, and they only churn diffs.
BABEL_FLAGS := --no-wrap
translations: $(VENV)/.installed-dev
	$(BIN)/pybabel -q extract -F babel.cfg -o bot/locales/messages.pot $(BABEL_FLAGS) --no-location \
	  --add-comments=TRANSLATORS: --project="Music Mood Lifter" --copyright-holder="Music Mood Lifter contributors" .
	$(BIN)/pybabel -q update -i bot/locales/messages.pot -d bot/locales -D messages $(BABEL_FLAGS) --ignore-obsolete

# CI's first step: fails when an English text has no translation in some language (also in make test).
translations-check: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_translations.py

docker-check:
	DOCKER_RUN_ARGS="--network none -e TELEGRAM_BOT_TOKEN=123456:not-a-real-token-0123456789" \
	  ../shared/tools/docker-smoke.sh . python -m bot --check --offline

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
