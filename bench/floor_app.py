"""The floor of the ``floor`` part: FastAPI on the same uvicorn as a litcomp service,
answering each path with the bytes a replica answered it with, and doing nothing else.

Usage: ``python -m bench.floor_app PORT BODIES`` where BODIES is a JSON file of
``{path: body text}``. Served as ``litcomp.kit.runner.serve_asgi`` serves a service
(uvicorn picks uvloop and httptools alike, the same garbage-collector thresholds), so
what a replica spends over it is litcomp's, not the server's.
"""

import json
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Response

from litcomp.kit.runner import bind, tune_garbage_collector


def create_app(bodies: dict[str, bytes]) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/{path:path}")
    async def answer(path: str) -> Response:
        return Response(bodies[f"/{path}"], media_type="application/json")

    return app


def main() -> None:
    port, bodies_file = int(sys.argv[1]), Path(sys.argv[2])
    bodies = {path: text.encode() for path, text in json.loads(bodies_file.read_text()).items()}
    sock = bind("127.0.0.1", port)
    tune_garbage_collector()
    config = uvicorn.Config(create_app(bodies), log_config=None, access_log=False, ws="none")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
