"""The least-load balancer steers requests away from an instance that has slowed down."""

import signal
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.faults.conftest import make_platform, requests_per_instance
from tests.support import Platform


@pytest.fixture(scope="module")
def platform_under_test(
    tmp_path_factory: pytest.TempPathFactory, make_database: Callable[[str], str]
) -> Iterator[Platform]:
    platform = make_platform(
        tmp_path_factory,
        make_database,
        "leastload",
        {"LITCOMP_GATEWAY_BALANCER": "least_load", "LITCOMP_GATEWAY_TIMEOUT_SECONDS": "10"},
        2,
    )
    platform.start()
    yield platform
    platform.stop()


def test_a_slow_instance_gets_few_requests(
    platform_under_test: Platform, gateway_client: httpx.Client
):
    slow = platform_under_test.replicas["competitions"][0]
    slow_id = str(platform_under_test.instance(slow)["instance_id"])
    statuses: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:
        with httpx.Client(base_url=platform_under_test.url, timeout=15) as client:
            while not stop.is_set():
                statuses.append(client.get("/competitions").status_code)

    before = requests_per_instance(gateway_client)
    slow.signal(signal.SIGSTOP)  # slow as can be: it answers nothing until SIGCONT
    clients = [threading.Thread(target=keep_asking) for _ in range(6)]
    for each in clients:
        each.start()
    time.sleep(2)
    during = requests_per_instance(gateway_client)
    slow.signal(signal.SIGCONT)
    stop.set()
    for each in clients:
        each.join()

    to_slow = during[slow_id] - before[slow_id]
    to_others = sum(during[i] - before[i] for i in during if i != slow_id)
    # Each request the slow one holds raises its load; the others stay near zero.
    assert to_slow <= 3
    assert to_others >= 50
    assert set(statuses) == {200}  # the held ones too, once it resumed
