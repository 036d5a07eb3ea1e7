"""The gateway's hot path compiled to C by mypyc, used only where it matches the source.

Why: the gateway is on every request's path. Interpreted, it spends about 167k
instructions proxying one; the same modules compiled by mypyc (their type annotations
are its input, the code is unchanged) spend about 94k, and 76k once what was slow
compiled was changed (``bench/gateway_instructions.py``): CPU per request about 2x
nginx's rather than 2.7x (bench/README.md).

How:

- ``litcomp compile`` (``make`` runs it after installing) compiles ``MODULES`` with
  mypyc into ``<sys.prefix>/lib/litcomp-compiled/<digest>``, where the digest is a hash
  of litcomp's source and the interpreter's version. Nothing is written into the
  source tree, and a build is moved into place whole or not at all.
- ``activate()``, run when litcomp is first imported, puts that directory first on
  the search path of the packages holding ``MODULES``, if it exists. A file edited
  since the build changes the digest, so an edit is never shadowed by stale compiled
  code: the edited tree runs interpreted until the next build.
- Without mypyc or a C compiler everything runs interpreted, just slower.

The modules are the gateway's per-request path and what it calls. mypyc compiles no
async generator (``gateway.process``'s ``running``: the dispatcher is a module of its own
so that it compiles) and its classes take no weak references.
"""

import hashlib
import importlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MODULES = (
    "litcomp.gateway.client_protocol",
    "litcomp.gateway.clients",
    "litcomp.gateway.dispatch",
    "litcomp.gateway.forwarding",
    "litcomp.gateway.headers",
    "litcomp.gateway.messages",
    "litcomp.gateway.pool",
    "litcomp.gateway.ratelimit",
    "litcomp.gateway.routes",
    "litcomp.gateway.target",
    "litcomp.kit.balancer",
    "litcomp.kit.breaker",
    "litcomp.kit.instance_table",
    "litcomp.kit.logging",
    "litcomp.kit.metrics",
    "litcomp.kit.outliers",
)
_SOURCE = Path(__file__).resolve().parent.parent  # the directory holding litcomp/
_MYPY_CONFIG = "[mypy]\nfollow_imports = silent\nignore_missing_imports = True\n"


def _source_of(module: str, root: Path) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def digest(root: Path | None = None) -> str:
    """Names the build of this source for this interpreter. All of litcomp's source, not
    only ``MODULES``': mypyc compiles them against the types of what they import, and
    checks those types at run time. The interpreter's whole version: the C that mypyc
    writes may use CPython's internals."""
    root = _SOURCE if root is None else root
    hashed = hashlib.sha256(f"{sys.version} {platform.machine()} {' '.join(MODULES)}".encode())
    for path in sorted((root / "litcomp").rglob("*.py")):
        hashed.update(str(path.relative_to(root)).encode())
        hashed.update(path.read_bytes())
    return hashed.hexdigest()[:16]


def build_dir(name: str | None = None) -> Path:
    return Path(sys.prefix) / "lib" / "litcomp-compiled" / (name or digest())


def activate() -> bool:
    """Use the compiled modules if they were built from this source; True if so."""
    try:
        built = build_dir()
    except OSError:  # a source file unreadable: run what is there, interpreted
        return False
    if not built.is_dir():
        return False
    sys.path.append(str(built))  # mypyc's shared library, a top-level module of its own
    for package in sorted({module.rpartition(".")[0] for module in MODULES}):
        path = importlib.import_module(package).__path__
        path.insert(0, str(built.joinpath(*package.split("."))))
    return True


def missing() -> str | None:
    """What compiling needs and this machine lacks, if anything."""
    if importlib.util.find_spec("mypyc") is None:
        return "mypyc (pip install mypy)"
    if shutil.which("cc") is None:
        return "a C compiler (apt-get install gcc)"
    return None


def active() -> bool:
    """Whether this process runs the compiled modules (the gateway logs it at start)."""
    return str(build_dir()) in sys.path


def build() -> Path:
    """Compile ``MODULES`` unless this source's build exists; returns its directory.
    Builds of other source are kept (~1 MB each; ``make clean`` drops them with the
    venv): ``bench/gateway_instructions.py --against`` runs two side by side."""
    current = build_dir()
    if current.is_dir():
        return current
    with tempfile.TemporaryDirectory(prefix="litcomp-compile-") as temp:
        work = Path(temp)
        ignore = shutil.ignore_patterns("__pycache__", "*.so")
        shutil.copytree(_SOURCE / "litcomp", work / "litcomp", ignore=ignore)
        # Named after the copy compiled: an edit made meanwhile gets a build of its own.
        target = build_dir(digest(work))
        # mypyc type-checks what it compiles; the rest of litcomp and the libraries are
        # read for their types only (``make test``'s mypy checks them, with the
        # project's configuration, which an installed package does not carry).
        (work / "mypy.ini").write_text(_MYPY_CONFIG)
        paths = [str(_source_of(module, work).relative_to(work)) for module in MODULES]
        command = [sys.executable, "-m", "mypyc", *paths]
        subprocess.run(command, cwd=work, check=True, capture_output=True, text=True)
        staged = target.with_name(f".{target.name}.{os.getpid()}")
        try:
            for library in work.glob("**/*.so"):
                if library.relative_to(work).parts[0] != "build":
                    destination = staged / library.relative_to(work)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(library, destination)
            staged.rename(target)
        except OSError:
            if not target.is_dir():  # else a build of the same source, made meanwhile
                raise
        finally:
            shutil.rmtree(staged, ignore_errors=True)
    return target
