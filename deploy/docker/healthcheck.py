"""The image's HEALTHCHECK: is the service this container runs ready (``GET /health``)?

The container's command names the service (``litcomp serve SERVICE``, read from PID 1's
command line); its port comes from the same ``LITCOMP_*`` variable the service reads.
Standard library only, so it costs one short-lived interpreter per check.
"""

import itertools
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

PORTS = {
    "gateway": ("LITCOMP_GATEWAY_PORT", "8000"),
    "discovery": ("LITCOMP_DISCOVERY_PORT", "8500"),
    "users": ("LITCOMP_USERS_HTTP_PORT", "0"),
    "competitions": ("LITCOMP_COMPETITIONS_HTTP_PORT", "0"),
}


def served_service(cmdline: bytes) -> str | None:
    args = [arg.decode(errors="replace") for arg in cmdline.split(b"\0")]
    for before, after in itertools.pairwise(args):
        if before == "serve" and after in PORTS:
            return after
    return None


def main() -> int:
    service = served_service(Path("/proc/1/cmdline").read_bytes())
    if service is None:
        print("unhealthy: this container does not run `litcomp serve SERVICE`")
        return 1
    variable, default = PORTS[service]
    port = os.environ.get(variable, default)
    if port == "0":
        print(f"unhealthy: {variable} is 0 (any free port); give {service} a fixed port")
        return 1
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as answer:
            print(f"{service}: {answer.status}")
            return 0 if answer.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"unhealthy: {service} on port {port}: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
