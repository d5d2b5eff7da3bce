# Medical-insurance assistant: `make run` starts it, `make test` checks everything.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
export PYTHONPATH := $(CURDIR)

.PHONY: help setup system-deps kb lexicon validate train run test test-stories eval eval-baseline bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/' | expand -t 16

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements.lock
	@PYTHON=$$(devtools/find_python.sh) || exit 1; \
	  [ -x $(PY) ] || $$PYTHON -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<24.1"
	$(PY) -m pip install --quiet -r requirements-dev.txt -c requirements.lock
	@touch $@

setup: $(VENV)/.installed system-deps  ## create .venv and install what the tests need

system-deps:  ## Debian packages for browser, voice and compose tests (needs root)
	@bash devtools/system_deps.sh

lexicon: $(VENV)/.installed  ## regenerate place synonyms from knowledge/content
	$(PY) -m knowledge lexicon

validate: $(VENV)/.installed  ## check knowledge content and Rasa training data
	$(PY) -m knowledge validate
	$(RASA) data validate --fail-on-warnings

kb: $(VENV)/.installed  ## load the knowledge base into DATABASE_URL (default: var/assistant.db)
	$(PY) -m knowledge load

train: $(VENV)/.installed  ## train the model if its inputs changed (cached)
	$(PY) -m devtools.train

run: setup kb train  ## start actions, Rasa and the gateway (Ctrl-C stops all)
	$(PY) -m stack run

test: setup validate train  ## every test: unit, integration, browser, conversations, NLU score
	$(PY) -m knowledge load
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-stories
	$(MAKE) --no-print-directory eval

test-stories: $(VENV)/.installed
	$(RASA) test core --stories tests/test_stories.yml --model models/assistant.tar.gz \
	  --out results/stories --fail-on-prediction-errors --no-plot

eval: $(VENV)/.installed train  ## NLU macro-F1 on the held-out set (fails below 0.90)
	$(PY) -m devtools.evaluate

eval-baseline: $(VENV)/.installed  ## the same held-out score for a simpler pipeline (comparison)
	$(PY) -m devtools.evaluate --train-config devtools/baseline_config.yml --out results/nlu-baseline --min-macro-f1 0

bench: setup kb train  ## load test: embedded and production set-ups, report in bench/results/
	$(PY) -m bench

clean:  ## remove generated files (not the venv)
	rm -rf models results var .rasa
