#!/usr/bin/env bash
# Every wheel the image installs, made on this machine so that building the image needs
# no network: the pinned dependencies (requirements.lock) as wheels for the image's
# Python (3.11 on glibc, this machine's architecture); in DIR/compile, mypy and
# setuptools as pinned in requirements-dev.lock, with which the build stage builds litcomp
# from its source, the gateway's hot path compiled (setup.py), and which it then drops.
#
#   deploy/docker/wheelhouse.sh [DIR]     (default DIR: build/wheelhouse)
#
# PYTHON picks the interpreter whose pip does the work (default: .venv/bin/python, else
# python3); IMAGE_PYTHON the image's Python version (default 3.11).
set -euo pipefail
cd "$(dirname "$0")/../.."

out=${1:-build/wheelhouse}
python=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
image_python=${IMAGE_PYTHON:-3.11}
arch=$(uname -m)

# pip takes platform tags literally: name every glibc a Debian bookworm image satisfies.
platforms=(--platform "manylinux2014_$arch")
for minor in $(seq 17 36); do platforms+=(--platform "manylinux_2_${minor}_$arch"); done

rm -rf "$out"
mkdir -p "$out"
"$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
  --implementation cp --python-version "$image_python" "${platforms[@]}" \
  -r requirements.lock -d "$out"
pinned() { grep -E "^$1==" requirements-dev.lock; }
"$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
  --implementation cp --python-version "$image_python" "${platforms[@]}" \
  -c requirements-dev.lock "$(pinned mypy)" "$(pinned setuptools)" -d "$out/compile"
echo "wheelhouse: $(ls "$out"/*.whl | wc -l) wheels in $out, $(ls "$out/compile" | wc -l) in $out/compile"
