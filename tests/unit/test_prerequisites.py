"""scripts/prerequisites.sh: with tools missing, one message naming them all and the one
command that installs them, before anything runs; silent when nothing is missing.

Absence is simulated with a PATH lacking the tools (a directory of links to everything
else on the PATH), and ``--check`` keeps the script from installing anything, as
without root.
"""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "prerequisites.sh"


def path_without(tmp_path: Path, *hidden: str) -> str:
    """A PATH with every command of this one but ``hidden``."""
    farm = tmp_path / "bin"
    farm.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            link = farm / name
            if name not in hidden and not link.exists():
                link.symlink_to(Path(directory, name))
    return str(farm)


def check(*sets: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=path or os.environ["PATH"])
    return subprocess.run(
        [str(SCRIPT), "--check", *sets], env=env, capture_output=True, text=True, timeout=60
    )


def test_missing_packages_are_named_with_the_apt_get_line_that_installs_them(tmp_path: Path):
    done = check("bench", path=path_without(tmp_path, "wrk", "redis-server"))

    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == "Missing for make bench:"
    assert "  - redis-server" in lines
    assert "  - wrk" in lines
    assert lines[-2] == "Install it all with:"
    command = lines[-1].split()
    assert command[:5] == ["sudo", "apt-get", "install", "-y", "--no-install-recommends"]
    assert {"redis-server", "wrk"} <= set(command[5:])
    assert done.stdout == ""


def test_what_packages_alone_cannot_install_sends_to_make_prerequisites(tmp_path: Path):
    done = check("test", path=path_without(tmp_path, "node", "npm", "wrk"))

    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == "Missing for make test:"
    assert "  - Node 18+ and npm" in lines
    assert "  - newman (npm ci --prefix postman)" in lines
    assert "  - wrk" in lines
    assert lines[-1] == "  sudo make prerequisites"


@pytest.mark.skipif(
    check("faults").returncode != 0, reason="this machine lacks make faults' prerequisites"
)
def test_nothing_missing_prints_nothing():
    done = check("faults")

    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_an_unknown_set_is_refused():
    done = check("tests")

    assert done.returncode == 2
    assert "usage:" in done.stderr
