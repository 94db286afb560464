# Every target sets up what it needs, so `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_HOME ?= $(CURDIR)/.demo-home
export QT_QPA_PLATFORM ?= offscreen

.PHONY: fonts qt-runtime desktop-tools sandbox-tools run test bench lint fuzz soak demo-build builtin-build \
	builtin-check venv clean package package-test

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Demo plugins that need a build step (AssemblyScript -> .wasm) are built here.
demo-build: venv
	$(MAKE) -C plugins_demo all

# The built-in WASM plugins (aleph_gui/builtin_plugins/*/plugin.wasm) are committed build outputs of
# builtin_src/: `builtin-build` rebuilds them, `builtin-check` fails when one is not its source's build.
builtin-build:
	$(MAKE) -C builtin_src all

builtin-check:
	$(MAKE) -C builtin_src check

# The window needs a font; offscreen/minimal systems may have none (text renders as boxes).
# Installs DejaVu only when fc-list finds no font and apt-get is usable; never fails the build.
fonts:
	@fc-list 2>/dev/null | grep -q . || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get install -y -qq fonts-dejavu-core >/dev/null 2>&1 || echo "note: no fonts found; install fonts-dejavu-core"; }

# Qt's X11 platform plugin needs xcb libraries that minimal systems lack (libxcb-cursor0, ...).
# Installed from Debian packages when ldd reports one missing and apt-get is usable; else a note.
QT_XCB_PACKAGES := libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
	libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libegl1
qt-runtime: venv
	@plugin=$$(find $(VENV) -name libqxcb.so | head -1); \
	if [ -n "$$plugin" ] && ldd "$$plugin" 2>/dev/null | grep -q "not found"; then \
		{ command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		  { apt-get install -y -qq $(QT_XCB_PACKAGES) >/dev/null 2>&1 || \
		    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $(QT_XCB_PACKAGES) >/dev/null 2>&1; }; }; } || \
		echo "note: the window needs these libraries: sudo apt-get install $(QT_XCB_PACKAGES)"; \
	fi

run: demo-build fonts qt-runtime sandbox-tools
	$(PY) -m aleph_gui.demo_home $(DEMO_HOME)
	QT_QPA_PLATFORM= $(VENV)/bin/aleph-gui --home $(DEMO_HOME)

test: demo-build fonts desktop-tools sandbox-tools
	$(PY) -m pytest -q

# desktop-file-validate and appstreamcli check the Linux desktop files (tests/test_packaging.py).
# Installed from Debian packages when missing and apt-get is usable; never fails the build.
desktop-tools:
	@command -v desktop-file-validate >/dev/null && command -v appstreamcli >/dev/null || { \
		command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ apt-get install -y -qq desktop-file-utils appstream >/dev/null 2>&1 || \
		  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq desktop-file-utils appstream >/dev/null 2>&1; }; } || \
		echo "note: install desktop-file-utils and appstream to validate the desktop files"; }

# Plugin processes run in a bubblewrap sandbox (docs/sandbox.md). Installed from Debian packages when
# missing and apt-get is usable; never fails the build: without it every plugin process is shown as
# "not sandboxed on this system". (The in-sandbox proxy bridge is Python: socat is not needed.)
sandbox-tools:
	@command -v bwrap >/dev/null || { \
		command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		{ apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
		  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1; }; } || \
		echo "note: install bubblewrap to sandbox plugin processes: sudo apt-get install bubblewrap"; }

# Self-contained dist/aleph-gui/ folder (aleph-gui + aleph-ext executables) built with PyInstaller.
package: venv
	$(PY) -m pip install --quiet 'pyinstaller>=6.10'
	$(PY) packaging/render_icons.py >/dev/null
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
		packaging/aleph-gui.spec

# Starts the built executables: aleph-ext list / call (WASM and Node.js), aleph-gui --screenshot.
package-test: package demo-build fonts desktop-tools
	$(PY) -m pytest -q packaging/test_binary.py

lint: venv
	$(VENV)/bin/ruff check aleph_gui tests
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy aleph_gui/core

bench: demo-build
	$(PY) tests/benchmarks/run_all.py

fuzz: demo-build
	$(PY) tests/fuzz/run_fuzz.py

soak: demo-build
	$(PY) tests/soak/soak.py

clean:
	rm -rf $(VENV) .demo-home build dist
	$(MAKE) -C plugins_demo clean
	$(MAKE) -C builtin_src clean
