"""The gateway's hot path builds compiled by mypyc into a wheel (setup.py), and the wheel runs it.

The build works on a copy of the checkout, so that it leaves nothing in the tree; the
suite itself runs the editable, interpreted install.
"""

import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from litcomp.gateway.process import hot_path_compiled

ROOT = Path(__file__).resolve().parents[2]
COMPILED = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["litcomp"]["compiled"]
EXTENSION = sysconfig.get_config_var("EXT_SUFFIX")

# In the installed wheel: every hot module an extension, then the in-memory gateway of
# bench/gateway_instructions.py proxies one round of requests through them.
RUN_COMPILED = """
import importlib, sys
from litcomp.gateway.process import hot_path_compiled
for module in sys.argv[1:]:
    print(module, importlib.import_module(module).__file__)
print("hot_path_compiled", hot_path_compiled())
from bench.gateway_instructions import drive
drive(1)
print("proxied")
"""


def build(tmp_path: Path, compile_: bool) -> Path:
    """The checkout's wheel (built as ``make compile`` builds it, into ``tmp_path``)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHON": sys.executable,
        "LITCOMP_COMPILE": str(int(compile_)),
    }
    command = [ROOT / "scripts" / "build_wheel.sh", ROOT, tmp_path / "built"]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
    (built,) = (tmp_path / "built" / "wheel").glob("*.whl")
    return built


@pytest.mark.timeout(900)
def test_litcomp_compile_builds_a_wheel_whose_hot_path_is_compiled(tmp_path: Path):
    build(tmp_path, compile_=True)
    site = tmp_path / "built" / "site"
    done = subprocess.run(
        [sys.executable, "-c", RUN_COMPILED, *COMPILED],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{site}:{ROOT}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert {module: found[module].endswith(EXTENSION) for module in COMPILED} == dict.fromkeys(
        COMPILED, True
    )
    assert all(found[module].startswith(str(site)) for module in COMPILED)
    assert found["hot_path_compiled"] == "True"
    assert done.stdout.splitlines()[-1] == "proxied"


@pytest.mark.timeout(300)
def test_without_litcomp_compile_the_wheel_is_pure_python(tmp_path: Path):
    built = build(tmp_path, compile_=False)
    assert built.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(built) as archive:
        assert not [name for name in archive.namelist() if name.endswith(".so")]
        assert "litcomp/gateway/dispatch.py" in archive.namelist()


def test_the_suite_runs_the_source_interpreted():
    """An edit is what the tests run: the editable install holds no build to shadow it."""
    assert not hot_path_compiled()
    assert not list((ROOT / "src").rglob(f"*{EXTENSION}"))
