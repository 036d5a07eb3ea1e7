"""kit.grpc.Client against a real gRPC server: what counts against an instance's breaker.

An instance that cannot be reached (UNAVAILABLE, DEADLINE_EXCEEDED) fails; one that
answers with an error of its own (INTERNAL) has answered: that counts towards its error
rate (kit.outliers), never alone against its breaker.
"""

import grpc
import pytest

from litcomp.kit.balancer import Instance, RoundRobin
from litcomp.kit.breaker import State
from litcomp.kit.errors import Unavailable
from litcomp.kit.grpc import Client, start_server
from litcomp.kit.instance_table import InstanceTable
from litcomp.v1 import users_pb2, users_pb2_grpc
from tests.support import free_port


class Failing(users_pb2_grpc.UsersServicer):
    async def GetUsers(
        self, request: users_pb2.GetUsersRequest, context: grpc.aio.ServicerContext
    ) -> users_pb2.GetUsersResponse:
        await context.abort(grpc.StatusCode.INTERNAL, "a bug")
        raise AssertionError("abort raises")


async def client_of(port: int) -> tuple[Client, InstanceTable]:
    instances = InstanceTable(caller="test", service="users", balancer=RoundRobin())
    client = Client(stub=users_pb2_grpc.UsersStub, instances=instances, timeout=2)
    await client.update("users", [Instance("users", "only", "127.0.0.1", 0, grpc_port=port)])
    return client, instances


async def test_error_answers_leave_the_breaker_closed() -> None:
    server, port = await start_server(
        service="users",
        registrations=[(users_pb2_grpc.add_UsersServicer_to_server, Failing())],
        host="127.0.0.1",
        port=0,
    )
    try:
        client, instances = await client_of(port)
        for _ in range(5):
            with pytest.raises(Unavailable):
                await client.call("GetUsers", users_pb2.GetUsersRequest())
        [only] = instances.endpoints
        assert only.breaker.state is State.CLOSED
        assert only.last_error == "gRPC INTERNAL"
    finally:
        await server.stop(None)


async def test_an_instance_nobody_answers_for_opens_it() -> None:
    client, instances = await client_of(free_port())
    for _ in range(3):
        with pytest.raises(Unavailable):
            await client.call("GetUsers", users_pb2.GetUsersRequest())
    [only] = instances.endpoints
    assert only.breaker.state is State.OPEN
    assert only.last_error == "gRPC UNAVAILABLE"
