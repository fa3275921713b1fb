# Campus Twin: the two commands are `make demo` and `make test`; both set up
# everything they need (a virtual environment at .venv) on a fresh machine.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
OUT    := out

.PHONY: install system-deps demo debrief debrief-teaching test fuzz bench docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The evacuation engine compiled with Cython (scenarios/evacuation/compiled.py says why), again whenever
# its sources change; without a C compiler it stays plain Python, with the same results (and the stamp is
# left out, so a later make tries again, e.g. after `make system-deps` installed gcc).
ENGINE_STAMP := $(VENV)/.engine-stamp
$(ENGINE_STAMP): $(STAMP) scripts/build_engine.py $(wildcard scenarios/evacuation/*.py scenarios/evacuation/*.pxd)
	$(PY) scripts/build_engine.py --stamp $@

install: $(STAMP) $(ENGINE_STAMP)

# Debian packages later parts need (Chromium for browser tests, Mosquitto for
# the MQTT feed); installed with apt-get where we are root or have sudo.
system-deps:
	@bash scripts/system-deps.sh

demo: install
	mkdir -p $(OUT)
	$(PY) -m maps.demo.generate --out maps/demo/campus.geojson
	$(VENV)/bin/twin info maps/demo
	$(VENV)/bin/twin info maps/demo --json > $(OUT)/demo-info.json
	$(VENV)/bin/twin map maps/demo -o $(OUT)/demo-map.html
	$(VENV)/bin/twin run scenarios/demo/campus-drill.toml -o $(OUT)/campus-drill
	@echo
	@echo "Demo outputs (open the HTML files in a browser; they work offline):"
	@echo "  campus map:        $(OUT)/demo-map.html"
	@echo "  campus summary:    $(OUT)/demo-info.json"
	@echo "  drill report:      $(OUT)/campus-drill/report.html"
	@echo "  drill recording:   $(OUT)/campus-drill/recording.sqlite"
	@echo
	@echo "More to try (see README.md):"
	@echo "  replay the drill:  $(VENV)/bin/twin replay $(OUT)/campus-drill/recording.sqlite"
	@echo "  gate traffic:      $(VENV)/bin/twin run scenarios/demo/traffic-morning.toml -o $(OUT)/traffic"
	@echo "  guard coverage:    $(VENV)/bin/twin run scenarios/demo/coverage-11-posts.toml -o $(OUT)/coverage"
	@echo "  live map:          $(VENV)/bin/twin user add me --role operator --users $(OUT)/users.json"
	@echo "                     $(VENV)/bin/twin serve maps/demo --store $(OUT)/live.sqlite --users $(OUT)/users.json --demo   # then http://127.0.0.1:8000/"
	@echo "  trainer's debrief: make debrief   # a recorded drill, drill vs plan, calibration (docs/exercises.md; ~5 min)"

# The trainer's debrief end to end: a drill fed into a store, the exercise cut, compared with the plan, calibrated.
debrief: install
	bash scripts/debrief_demo.sh $(OUT)/debrief

# The same with a morning drill in teaching building TB1: both its exits queue, so the calibration needs its level cameras.
debrief-teaching: install
	DRILL=teaching bash scripts/debrief_demo.sh $(OUT)/debrief-teaching

# Two or more workers (pytest-xdist), a test file per worker: the browser, broker and
# subprocess waits of one file overlap another's work, even on a 2-core machine. Files go
# out in collection order, the longest first (tests/conftest.py LONGEST_FIRST), so no long
# file starts last. Compiled modules are cached as Python does by default (__pycache__, git-ignored)
# even where the environment turns that off (PYTHONDONTWRITEBYTECODE): otherwise every worker and
# subprocess compiles each module it imports, and pytest rewrites every test module, again (~5 s of
# CPU per worker's collection alone). schemathesis's pytest plugin is not loaded (-p no:schemathesis): the tests use
# schemathesis as a library (tests/test_api_schema.py), and the plugin's import costs ~0.45 s of CPU in every process.
test: system-deps install
	PYTHONDONTWRITEBYTECODE= $(VENV)/bin/pytest -q -n auto --maxprocesses 4 --dist loadfile --no-loadscope-reorder -p no:schemathesis

# Property tests over every reader of outside input and the schema-driven API fuzz, with a larger budget than
# `make test` (tests/test_fuzz.py, tests/test_api_schema.py), and the slower property tests (importers, graph,
# placement, lower bound, engine) with ten times the examples they try in `make test` (tests.helpers.examples).
fuzz: install
	TWIN_FUZZ=1 $(VENV)/bin/pytest -q -s -p no:warnings tests/test_fuzz.py tests/test_api_schema.py \
		tests/test_import_imdf.py tests/test_import_loader.py tests/test_graph.py tests/test_placement.py \
		tests/test_bound.py tests/test_scenarios.py

bench: install
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_evacuation.py --reference 8e1fdf4 --plain
	$(PY) benchmarks/bench_bound.py
	$(PY) benchmarks/bench_verify.py
	$(PY) benchmarks/bench_coverage.py
	$(PY) benchmarks/bench_traffic.py
	$(PY) benchmarks/bench_replay.py
	$(PY) benchmarks/bench_calibrate.py
	$(PY) benchmarks/bench_ingest.py
	$(PY) benchmarks/bench_live.py
	$(PY) benchmarks/bench_alarm.py
	$(PY) benchmarks/bench_osm.py
	$(PY) benchmarks/bench_import.py

docs: install
	$(PY) -m twin.settings > docs/settings.md

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
