#!/usr/bin/env bash
# Usage: benchmarks/ensure_ray_venv.sh DIR
# Make sure DIR is a venv with ray, numpy and psutil, for `python -m benchmarks.compare`.
# Ray is only ever a benchmark reference: it is never a dependency of actorium.
set -euo pipefail

dir="${1:?usage: $0 DIR}"
python="${PYTHON:-python3}"

if [ ! -x "$dir/bin/python" ]; then
    "$python" -m venv "$dir"
fi
if ! "$dir/bin/python" -c 'import ray, numpy, psutil' >/dev/null 2>&1; then
    "$dir/bin/python" -m pip install -q --upgrade pip
    "$dir/bin/python" -m pip install -q ray numpy psutil
fi
"$dir/bin/python" -c 'import sys, ray; print("ray", ray.__version__, "in", sys.prefix)'
