"""litcomp's build, with the gateway's hot path compiled to C by mypyc on request.

Everything else about the package is in pyproject.toml. Why compile: the gateway is on
every request's path, and the modules below, compiled by mypyc from the same code (their
type annotations are its input), spend far fewer instructions per proxied request than
interpreted (``bench/gateway_instructions.py`` counts them; bench/README.md has the figure).

    LITCOMP_COMPILE=1 pip wheel --no-build-isolation --no-deps .

builds a wheel whose hot modules (pyproject.toml's ``[tool.litcomp] compiled``) are
extensions beside their source (Python imports an extension before a ``.py`` of the
same name), as mypy and black build theirs; without ``LITCOMP_COMPILE`` the wheel is
pure Python and needs no compiler. ``make compile`` and
the image's build stage do the former; the editable install a checkout works in is always
interpreted, so an edit is never shadowed by a stale build. No build isolation: mypyc
type-checks the modules against the installed dependencies' types (mypy reads the
project's configuration in pyproject.toml), so mypy, setuptools and the dependencies come
from the environment that builds.

mypyc compiles no async generator (``gateway.process``'s ``running``: the dispatcher is a
module of its own so that it compiles) and its classes take no weak references.
"""

import os
import tomllib
from pathlib import Path

from setuptools import Extension, setup

# The modules, listed in pyproject.toml's [tool.litcomp] (tests read them there too).
COMPILED = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["litcomp"]["compiled"]


def compiled_extensions() -> list[Extension]:
    if os.environ.get("LITCOMP_COMPILE") != "1":
        return []
    from mypyc.build import mypycify

    return mypycify([f"src/{module.replace('.', '/')}.py" for module in COMPILED], opt_level="3")


setup(ext_modules=compiled_extensions())
