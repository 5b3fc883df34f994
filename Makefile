# Thin targets; every setting lives in pyproject.toml.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test soak soak-streaming bench bench-compare bench-virtual bench-twins bench-dashboard ray-docs-compat lint typecheck docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dashboard]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/digital_twins.py
	$(PY) examples/virtual_thermostats.py

# Two workers, each taking whole test files (a module's tests share one runtime fixture): the
# suite waits on processes more than it computes, so two finish it sooner even on 2 cores
# (CI must stay under ~12 minutes). TEST_WORKERS=0 runs it in this process, one at a time.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(PY) -m pytest -q $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

soak: $(STAMP)
	SOAK_SECONDS=$${SOAK_SECONDS:-120} SOAK_KILL=$${SOAK_KILL:-task,host} $(PY) -m pytest -q -s -p no:cacheprovider tests/testing/test_soak.py

# A million items from an endless actor generator: driver and worker memory stay flat.
soak-streaming: $(STAMP)
	SOAK_STREAM_ITEMS=$${SOAK_STREAM_ITEMS:-1000000} $(PY) -m pytest -q -s -p no:cacheprovider tests/streaming/test_memory_soak.py

bench: $(STAMP)
	$(PY) -m benchmarks.run --backend actorium

bench-compare: $(STAMP)
	bash benchmarks/ensure_ray_venv.sh .venv-ray
	$(PY) -m benchmarks.compare --ray-python .venv-ray/bin/python --actorium-python $(PY) --markdown benchmarks/latest.md

# Ray's own Ray Core doc programs on Ray and on actorium (benchmarks/ray_docs_compat.py).
ray-docs-compat: $(STAMP)
	bash benchmarks/ensure_ray_venv.sh .venv-ray
	$(PY) -m benchmarks.ray_docs_compat --ray-python .venv-ray/bin/python --markdown benchmarks/latest-ray-docs.md

bench-virtual: $(STAMP)
	$(PY) -m benchmarks.virtual_actors --scale full --json benchmarks/latest-virtual.json

bench-twins: $(STAMP)
	$(PY) -m benchmarks.twins --scale full --json benchmarks/latest-twins.json

bench-dashboard: $(STAMP)
	$(PY) -m benchmarks.dashboard_fleet --scale full --json benchmarks/latest-dashboard.json

lint: $(STAMP)
	$(PY) -m pip install -q ruff && $(PY) -m ruff check actorium tests examples benchmarks

typecheck: $(STAMP)
	$(PY) -m pip install -q mypy && $(PY) -m mypy
	test -x .venv-minimal/bin/python || $(PYTHON) -m venv .venv-minimal
	.venv-minimal/bin/pip install -q -e . mypy && .venv-minimal/bin/python -m mypy  # no extras

docs:
	@ls docs/*.md

clean:
	rm -rf $(VENV) .venv-minimal build *.egg-info
