"""The gateway's hot path runs compiled by mypyc, and never as stale code (litcomp.compiled)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from litcomp import compiled

IMPORT_HOT_PATH = """
import importlib, sysconfig
from litcomp import compiled
suffix = sysconfig.get_config_var("EXT_SUFFIX")
for module in compiled.MODULES:
    print(module, importlib.import_module(module).__file__.endswith(suffix))
print("active", compiled.active())
"""


@pytest.mark.timeout(60)
def test_a_new_process_runs_every_hot_module_compiled():
    """As ``litcomp serve gateway`` does. ``make test`` compiles first; run
    ``make compile`` (or ``litcomp compile``) after editing one of ``MODULES``."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_HOT_PATH], capture_output=True, text=True, check=True
    )
    found = dict(line.split() for line in done.stdout.splitlines())
    interpreted = [module for module, is_compiled in found.items() if is_compiled != "True"]
    assert interpreted == [], "not compiled for this source: run `make compile`"


def test_an_edit_anywhere_in_litcomp_names_another_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Not only an edit to a compiled module: they are compiled against the types of
    what they import (settings, for one), and mypyc checks those types at run time."""
    source = Path(compiled.__file__).resolve().parent.parent
    shutil.copytree(source / "litcomp", tmp_path / "litcomp")
    monkeypatch.setattr(compiled, "_SOURCE", tmp_path)
    built = compiled.build_dir()
    assert built == compiled.build_dir()  # the same source, the same build
    for edited in (("gateway", "forwarding.py"), ("gateway", "settings.py")):
        with tmp_path.joinpath("litcomp", *edited).open("a") as file:
            file.write("\n# an edit\n")
        assert compiled.build_dir() != built
        assert not compiled.build_dir().exists()  # so activate() leaves it interpreted
        built = compiled.build_dir()
