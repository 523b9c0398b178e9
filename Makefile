# The two set-up commands (README): `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test install install-dev system-packages bench-quick clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(STAMP_DEV): pyproject.toml $(STAMP)
	$(PY) -m pip install -q -e '.[dev,ray]'
	touch $@

install: $(STAMP)
install-dev: $(STAMP_DEV)

demo: $(STAMP)
	$(VENV)/bin/shoplens demo

# The dashboard test drives Debian's chromium with CJK fonts; the service bench uses wrk.
SYSTEM_PACKAGES := chromium fonts-noto-cjk wrk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-packages:
	@dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $(SYSTEM_PACKAGES); }

test: $(STAMP_DEV) system-packages
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
