"""Smoke runs of `make faults` and `make bench`: every scenario and part, tiny counts.

They start the real platform as the full runs do (private PostgreSQL clusters and
Redis, nginx and wrk for the proxies part), so the suites cannot rot between full
runs. The figures of a smoke run mean little, but what must hold whatever the
machine's load does is checked: no acknowledged write lost or duplicated, no
notification lost, every part's figures and plots written.
"""

import json
from pathlib import Path

import pytest

from bench import faults, run

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(360)
def test_every_fault_scenario_runs_and_loses_nothing(tmp_path: Path):
    outcomes = faults.main(
        [
            "--readers=2",
            "--writers=2",
            "--listeners=2",
            "--pause=0.1",
            "--probe-every=0.2",
            "--before=0.5",
            "--hold=1",
            "--after=1",
            "--flood=60",
            f"--output={tmp_path}",
        ],
        handle_signals=False,
    )

    assert [o.scenario for o in outcomes] == list(faults.SCENARIOS)
    for outcome in outcomes:
        assert not outcome.notes or "could not finish" not in outcome.notes[0], outcome.notes
        assert outcome.acknowledged > 0, outcome.scenario
        assert (outcome.writes_lost, outcome.writes_duplicated) == (0, 0), outcome.scenario
        assert outcome.notifications_lost == 0, outcome.scenario
        assert outcome.comments_without_notice == 0, outcome.scenario
    kill = outcomes[0]
    # Traffic left the killed replica within 2 s: by its breaker, or before that by least
    # load, which shuns a replica that failed and has answered nothing since (under this
    # light load it may get fewer than the 3 requests that would open its breaker).
    assert kill.victim_last_request_s is None or kill.victim_last_request_s < 2
    login = outcomes[-1]
    # The gateway's login limit: 10 at once, twice over at most (its local buckets decide
    # alone while Redis answers late, as on a busy machine), a few more as tokens refill.
    assert login.logins["429"] >= 30
    assert login.logins["429 with Retry-After"] == login.logins["429"]
    [results] = tmp_path.glob("faults-*.json")
    assert len(json.loads(results.read_text())["scenarios"]) == len(faults.SCENARIOS)


@pytest.mark.timeout(360)
def test_every_benchmark_part_runs_and_draws_its_plots(tmp_path: Path):
    path = run.main(
        [
            "--duration=1",
            "--warmup=0",
            "--levels=1,4",
            "--sockets=30",
            "--fanout-rounds=1",
            "--idle-seconds=1",
            "--writers=2",
            "--entrants=4",
            "--likers=20",
            "--competitions=4",
            "--delay-ms=50",
            "--judging-entries=50",
            "--judging-ballots=200",
            "--search-entries=300",
            "--search-runs=3",
            "--profile",
            f"--output={tmp_path}",
        ],
        handle_signals=False,
    )

    parts = json.loads(path.read_text())["parts"]
    assert set(parts) == set(run.PARTS)
    assert [p["connections"] for p in parts["concurrency"]["write"]] == [1, 4]
    # Each workload answered through the gateway. Not at every level: on a busy machine
    # a single write can outlast a 1 s wrk run, which then counts no request.
    assert all(
        sum(p["requests"] for p in parts["concurrency"][kind]) > 0 for kind in ("read", "write")
    )
    assert [r["replicas"] for r in parts["replicas"]] == [1, 2, 3]
    assert [f["open"] for f in parts["fanout"]] == [30]
    assert all(f["incomplete_rounds"] == 0 and f["gaps"] == 0 for f in parts["fanout"])
    assert parts["likes"]["like_count"] == parts["likes"]["liked_notices"] == 20
    assert parts["judging"]["ballots"] == 200 and parts["judging"]["ranked_seconds"] > 0
    assert parts["search"]["entries"] == 300
    assert parts["search"]["queries"]["nowhere"]["found"] == "0"
    assert parts["search"]["queries"]["common word"]["found"] != "0"
    assert set(parts["balancing"]["policies"]) == {"round_robin", "least_load"}
    assert all(
        parts["entries"][kind]["requests"] > 0 and parts["entries"][kind]["errors"] == 0
        for kind in ("submit", "edit", "draft")
    )
    assert parts["proxies"]["targets"]["gateway"]["requests"] > 0
    floor = parts["floor"]["routes"]
    assert len(floor) == 10 and all(r["requests"] > 0 and r["errors"] == 0 for r in floor)
    assert all(r["ratio"] > 1 for r in floor if r["kind"] != "write")
    assert all(r["statements"] >= 1 for r in floor if r["kind"] == "write")
    assert all(0.99 < sum(r["profile"].values()) < 1.01 for r in floor)
    plots = {p.name for p in tmp_path.glob("*.png")}
    assert plots == {
        f"bench-{n}.png" for n in ("concurrency", "replicas", "floor", "fanout", "comparisons")
    }
