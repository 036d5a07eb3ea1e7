#!/bin/sh
# litcomp's wheel built from the checkout SOURCE and installed into INTO/site, the
# directory to put first on PYTHONPATH:
#   scripts/build_wheel.sh SOURCE INTO                    the hot path compiled by mypyc (setup.py)
#   LITCOMP_COMPILE=0 scripts/build_wheel.sh SOURCE INTO  pure Python
# The one way `make compile`, bench/gateway_instructions.py and tests/unit/test_compiled.py
# build it. The build runs on a copy of SOURCE's package files: setuptools leaves a build/
# directory behind that it would package, stale, into the next wheel. PYTHON names the
# interpreter whose pip, setuptools and mypy build it (python3 by default).
set -eu
source=$1 into=$2
python=${PYTHON:-python3}
pip="$python -m pip --quiet --disable-pip-version-check"
rm -rf "$into/tree" "$into/wheel" "$into/site"
mkdir -p "$into/tree"
cp -r "$source/src" "$source/setup.py" "$source/pyproject.toml" "$source/README.md" "$into/tree/"
find "$into/tree/src" \( -name '*.egg-info' -o -name __pycache__ \) -prune -exec rm -rf {} +
LITCOMP_COMPILE=${LITCOMP_COMPILE:-1} $pip wheel --no-build-isolation --no-deps -w "$into/wheel" "$into/tree"
$pip install --no-deps --target "$into/site" "$into"/wheel/*.whl
rm -rf "$into/tree"
