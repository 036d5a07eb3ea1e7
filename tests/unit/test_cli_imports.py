"""``litcomp serve`` loads only what the service it runs needs: instances start sooner."""

import subprocess
import sys

import pytest

SERVE_GATEWAY = """
import sys
from litcomp import cli
import importlib
importlib.import_module(cli.SERVICE_MODULES["gateway"])
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in {
    "sqlalchemy", "alembic", "fastapi", "litcomp"
})))
"""


@pytest.mark.timeout(60)
def test_the_gateway_loads_no_database_nor_web_framework_nor_other_service():
    done = subprocess.run(
        [sys.executable, "-c", SERVE_GATEWAY], capture_output=True, text=True, check=True
    )
    loaded = done.stdout.split()
    assert "litcomp.gateway.process" in loaded
    for name in ("sqlalchemy", "alembic", "fastapi", "litcomp.admin", "litcomp.users.app"):
        assert name not in loaded
    assert not [name for name in loaded if name.startswith("litcomp.competitions")]
