"""Generate the Python gRPC code for every contract in this folder.

    python proto/generate.py [OUT_DIR]     (default: src, i.e. src/litcomp/v1)

`make proto` runs this; a test runs it into a temporary folder and fails when
the committed code differs, so the code never drifts from the contracts.
"""

import sys
from importlib.resources import files
from pathlib import Path

from grpc_tools import protoc

HERE = Path(__file__).resolve().parent


def generate(out_dir: Path) -> None:
    protos = sorted(str(p.relative_to(HERE)) for p in HERE.glob("litcomp/v1/*.proto"))
    well_known = str(files("grpc_tools") / "_proto")
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{HERE}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    package = out_dir / "litcomp" / "v1"
    (package / "__init__.py").write_text('"""Generated from proto/litcomp/v1: do not edit."""\n')


if __name__ == "__main__":
    generate(Path(sys.argv[1] if len(sys.argv) > 1 else "src").resolve())
