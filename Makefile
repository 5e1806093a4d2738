# Two commands do everything: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: run test bench lint install install-test system-test-deps lane-embedded lane-production clean

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel

# torch first, pinned, so that nothing later pulls a CUDA build.
$(VENV)/.installed-run: $(VENV)/bin/python pyproject.toml requirements/constraints.txt
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c requirements/constraints.txt -e .
	$(MAKE) --no-print-directory pyannote-audio
	touch $@

# pyannote.audio 4 without its torchcodec requirement (its FFmpeg-linked libraries cannot load here; the
# diarization engine hands pyannote in-memory waveforms). Its other requirements are in pyproject.toml.
# torchaudio from the registry is a CUDA build whose C extension cannot load against the CPU torch:
# pyannote.audio needs only torchaudio's pure-Python parts (compliance.kaldi, functional, transforms),
# which import without it once its extension libraries are removed.
.PHONY: pyannote-audio
pyannote-audio:
	$(BIN)/pip install -q --no-deps -c requirements/constraints.txt pyannote.audio
	rm -f "$$($(BIN)/python -c 'import importlib.util as u, pathlib as p; print(p.Path(u.find_spec("torchaudio").origin).parent / "lib")')"/*.so
	PYANNOTE_METRICS_ENABLED=0 $(BIN)/python -W ignore -c 'import torchaudio.compliance.kaldi, torchaudio.transforms, pyannote.audio.pipelines'

$(VENV)/.installed-test: $(VENV)/.installed-run
	$(BIN)/pip install -q -c requirements/constraints.txt -e ".[test]"
	touch $@

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py serve --port $(PORT)

# Debian packages the tests drive: Chromium (browser tests), espeak-ng and sox (speech with known words),
# redis-server (the fault suite starts a Redis of its own to kill; each command is its package's name).
system-test-deps:
	@missing=""; for c in chromium espeak-ng sox redis-server; do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: install-test
	$(BIN)/ruff check .

lane-embedded: install-test system-test-deps
	@echo "=== lane: embedded (SQLite WAL, SQLite broker + real worker, SQLite channel layer) + browser tests ==="
	TEST_LANE=embedded $(PYTEST) tests

lane-production: install-test system-test-deps
	@echo "=== lane: production (PostgreSQL $(PG_URL), Redis $(REDIS_TEST_URL), channels_redis) ==="
	TEST_LANE=production DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(PYTEST) tests

test: lint lane-embedded lane-production
	@echo "=== both lanes passed ==="

bench: install-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
