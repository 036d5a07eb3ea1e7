"""Direct gRPC channels to the platform's instances, as the other service would call them."""

from collections.abc import Iterator

import grpc
import pytest

from tests.support import Platform


@pytest.fixture(scope="module")
def users_channel(platform: Platform) -> Iterator[grpc.Channel]:
    port = platform.instance(platform.replicas["users"][0])["grpc_port"]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel


@pytest.fixture(scope="module")
def competitions_channel(platform: Platform) -> Iterator[grpc.Channel]:
    port = platform.instance(platform.replicas["competitions"][0])["grpc_port"]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
