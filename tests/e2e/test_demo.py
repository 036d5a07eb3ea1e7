"""``litcomp demo``: an empty platform filled with sample data through its API, in every
phase, with results; refused on a platform that has data."""

from collections.abc import Iterator

import httpx
import pytest

from litcomp.demo import email_of
from litcomp.demo_content import CONTESTS, PASSWORD, WRITERS
from tests.support import Platform, sign_up


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A platform of its own on the embedded defaults (SQLite), empty."""
    running = Platform.create(tmp_path_factory.mktemp("demo"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_the_demo_fills_an_empty_platform_and_refuses_a_second_time(empty: Platform) -> None:
    made = empty.run_cli("demo", "--url", empty.url, "--phase-seconds", "2")
    assert made.returncode == 0, made.stderr
    assert "ready to explore" in made.stdout

    with httpx.Client(base_url=empty.url, timeout=10) as api:
        listed = api.get("/competitions", params={"status": "all"}).json()
        by_status = sorted(competition["status"] for competition in listed)
        assert by_status == sorted(
            {"finished": "finished", "voting": "voting", "open": "open", "upcoming": "upcoming"}[
                contest.phase
            ]
            for contest in CONTESTS
        )
        for competition in listed:
            if competition["status"] == "finished":
                results = api.get(f"/competitions/{competition['competition_id']}/results")
                places = results.json()["items"]
                assert places and places[0]["place"] == 1 and places[0]["likes"] > 0
                entries = api.get(f"/competitions/{competition['competition_id']}/submissions")
                assert all(entry["author"] for entry in entries.json()["items"])  # revealed
            if competition["status"] == "voting":  # anonymous: still no names
                entries = api.get(f"/competitions/{competition['competition_id']}/submissions")
                assert entries.json()["total"] > 0
                assert not any(entry["author"] for entry in entries.json()["items"])
        # Anyone may log in as a demo writer with the password the demo printed.
        writer = WRITERS[0]
        login = api.post(
            "/users/login", json={"email": email_of(writer.username), "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        assert api.get(f"/users/{login.json()['user_id']}").json()["bio"] == writer.bio

    again = empty.run_cli("demo", "--url", empty.url, "--phase-seconds", "2")
    assert again.returncode != 0
    assert "fills an empty platform only" in again.stderr


def test_the_demo_refuses_a_platform_with_writers(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    platform = Platform.create(tmp_path_factory.mktemp("writers"))
    platform.start()
    try:
        with httpx.Client(base_url=platform.url, timeout=10) as api:
            sign_up(api, "early")
        refused = platform.run_cli("demo", "--url", platform.url)
        assert refused.returncode != 0
        assert "1 writer(s) already" in refused.stderr
        with httpx.Client(base_url=platform.url, timeout=10) as api:
            assert api.get("/competitions", params={"status": "all"}).json() == []
    finally:
        platform.stop()
