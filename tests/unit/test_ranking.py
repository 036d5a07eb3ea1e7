"""litcomp.competitions.ranking: Bradley-Terry scores from ranked ballots."""

import math
import random
import uuid
from collections import Counter
from collections.abc import Sequence
from itertools import combinations

import pytest

from litcomp.competitions.ranking import (
    SIGNIFICANT_DIGITS,
    ballot_counts,
    bradley_terry,
    bradley_terry_wins,
    round_score,
)

MEDIAN = "median"  # the virtual median entry, in the tests' own bookkeeping


def games_of(entries: Sequence[str], ballots: Sequence[Sequence[str]]) -> Counter[tuple[str, str]]:
    """Games won, (winner, loser) -> count, from the ballots and the prior, counted here
    without the module: each ballot's entry beats every entry below it, and each entry
    beats the virtual median once and loses to it once."""
    won: Counter[tuple[str, str]] = Counter()
    for ballot in ballots:
        won.update(combinations(ballot, 2))
    for entry in entries:
        won[(entry, MEDIAN)] += 1
        won[(MEDIAN, entry)] += 1
    return won


def zermelo(won: Counter[tuple[str, str]], rounds: int = 20_000) -> dict[str, float]:
    """Rank.pm's own iteration, in plain Python, for many rounds: S_n = wins_n /
    sum_m games_nm / (S_n + S_m), every node from the previous round; then scaled so
    that the median scores 1 (Rank.pm leaves the scale as it falls)."""
    nodes = sorted({n for pair in won for n in pair})
    wins = {n: sum(c for (w, _), c in won.items() if w == n) for n in nodes}
    played = Counter[tuple[str, str]]()
    for (w, lo), count in won.items():
        played[(w, lo)] += count
        played[(lo, w)] += count
    scores = dict.fromkeys(nodes, 1.0)
    for _ in range(rounds):
        scores = {
            n: wins[n] / sum(played[(n, m)] / (scores[n] + scores[m]) for m in nodes if m != n)
            for n in nodes
        }
    return {n: s / scores[MEDIAN] for n, s in scores.items()}


def fixed_point_gaps(scores: dict[str, float], won: Counter[tuple[str, str]]) -> list[float]:
    """Each node's relative gap in Zermelo's equation wins_n = sum_m games_nm S_n /
    (S_n + S_m): zero at the maximum-likelihood scores."""
    nodes = {n for pair in won for n in pair}
    gaps = []
    for n in nodes:
        wins = sum(c for (w, _), c in won.items() if w == n)
        expected = sum(
            c * scores[n] / (scores[w] + scores[lo]) for (w, lo), c in won.items() if n in (w, lo)
        )
        gaps.append(abs(wins - expected) / wins)
    return gaps


def with_median(scores: dict[str, float]) -> dict[str, float]:
    return {**scores, MEDIAN: 1.0}


# --- small cases worked by hand ---------------------------------------------------------


def test_two_entries_one_ballot_solve_a_cubic() -> None:
    """a beat b once; each also won and lost once against the median (score 1).

    Swapping a and b and inverting every score maps the games onto themselves, so
    S_b = 1/S_a; a's equation, 2 = s²/(s²+1) + 2s/(s+1), is then s³ - s² - 2 = 0.
    """
    scores = bradley_terry(["a", "b"], [["a", "b"]])
    s = scores["a"]
    assert s**3 - s**2 - 2 == pytest.approx(0, abs=1e-7)
    assert s == pytest.approx(1.695620769, rel=1e-8)  # the cubic's one real root
    assert scores["b"] == pytest.approx(1 / s, rel=1e-8)


def test_a_cycle_scores_everyone_at_the_median() -> None:
    """Every entry first, second and third once: all equal, and the median's own
    equation (3 wins = 3 · 2 · 1/(1 + s)) puts them at 1."""
    ballots = [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert bradley_terry(["a", "b", "c"], ballots) == {"a": 1.0, "b": 1.0, "c": 1.0}


def test_matches_rank_pm_iteration_run_to_convergence() -> None:
    """The module's iteration is not Rank.pm's; the answer must be the same."""
    entries = ["a", "b", "c", "d", "e"]
    ballots = [
        ["a", "b", "c"],
        ["b", "a", "d", "c"],
        ["a", "c", "e"],
        ["d", "b", "e", "a"],
        ["c", "e", "d"],
        ["a", "d", "b", "e", "c"],
    ]
    expected = zermelo(games_of(entries, ballots))
    scores = bradley_terry(entries, ballots)
    for entry in entries:
        assert scores[entry] == pytest.approx(expected[entry], rel=1e-6)


def test_the_scores_are_the_fixed_point_median_included() -> None:
    entries = ["a", "b", "c", "d", "e", "f"]
    ballots = [
        ["a", "b", "c", "d"],
        ["b", "c", "a"],
        ["f", "a", "e"],
        ["c", "d", "e", "f", "b"],
        ["a", "f", "b"],
        ["e", "d", "c"],
    ]
    won = games_of(entries, ballots)
    gaps = fixed_point_gaps(with_median(bradley_terry(entries, ballots)), won)
    assert len(gaps) == len(entries) + 1
    assert max(gaps) < 1e-7  # the scores are rounded to 9 significant digits


# --- the prior ------------------------------------------------------------------------


def test_an_entry_on_no_ballot_scores_the_median_and_changes_nothing() -> None:
    ballots = [["a", "b", "c"], ["a", "c", "b"], ["b", "a", "c"]]
    without = bradley_terry(["a", "b", "c"], ballots)
    scores = bradley_terry(["a", "b", "c", "unread"], ballots)
    assert scores["unread"] == 1.0
    assert {e: scores[e] for e in "abc"} == pytest.approx(without, rel=1e-8)


def wins_matrix(entries: Sequence[str], ballots: Sequence[Sequence[str]]) -> list[list[float]]:
    position = {entry: i for i, entry in enumerate(entries)}
    matrix = [[0.0] * len(entries) for _ in entries]
    for ballot in ballots:
        for winner, loser in combinations(ballot, 2):
            matrix[position[winner]][position[loser]] += 1
    return matrix


def test_a_sparsely_read_entry_is_pulled_to_the_middle() -> None:
    """a, b, c and d are on twenty ballots each; e on two, where it beat five of six.
    Without the prior e's record makes it the best. The prior (one win and one loss
    against the median for everyone) draws every log-score towards the middle, measured
    from the much-read entries' mean, but e's far more: its record is the thinnest."""
    entries = ["a", "b", "c", "d", "e"]
    ballots = [["a", "b", "c", "d"], ["b", "a", "d", "c"]] * 5
    ballots += [["a", "c", "b", "d"], ["c", "a", "b", "d"]] * 5
    ballots += [["e", "a", "b", "c"], ["a", "e", "b", "d"]]
    matrix = wins_matrix(entries, ballots)

    def centred(scores: list[float]) -> list[float]:
        logs = [math.log(s) for s in scores]
        return [x - sum(logs[:4]) / 4 for x in logs]

    plain = centred(bradley_terry_wins(matrix, prior=False))
    pulled = centred(bradley_terry_wins(matrix))
    assert plain[4] == max(plain)
    shrink = [1 - q / p for p, q in zip(plain, pulled, strict=True)]
    assert 0.2 < shrink[4] < 1
    much_read = [shrink[i] for i in (0, 1, 3)]  # c sits at the centre: no ratio
    assert all(0 < x < shrink[4] / 3 for x in much_read)


def test_ballots_and_the_wins_matrix_agree() -> None:
    entries = ["a", "b", "c", "d"]
    ballots = [["a", "b", "c"], ["d", "a", "c"], ["b", "d", "c", "a"], ["c", "b", "d"]]
    from_ballots = bradley_terry(entries, ballots)
    from_matrix = bradley_terry_wins(wins_matrix(entries, ballots))
    assert [from_ballots[e] for e in entries] == pytest.approx(from_matrix, rel=1e-8)


# --- a published example --------------------------------------------------------------

# Wikipedia, "Bradley-Terry model", its worked example of the iterative procedure
# (en.wikipedia.org, revision 1363947235): four teams, 21 games, wins[i][j] the games
# team i won against team j.
WIKIPEDIA_WINS = [
    [0, 2, 0, 1],  # A
    [3, 0, 5, 0],  # B
    [0, 3, 0, 1],  # C
    [4, 0, 3, 0],  # D
]


def test_the_wikipedia_worked_example() -> None:
    """Wikipedia's worked example converges, scaled to a geometric mean of 1, to
    p = [0.640, 1.043, 0.660, 2.270] (given to three decimals), from the wins table
    above: the plain maximum-likelihood fit, without WriteOff's prior."""
    scores = bradley_terry_wins(WIKIPEDIA_WINS, prior=False)
    assert scores == pytest.approx([0.640, 1.043, 0.660, 2.270], abs=5e-4)
    assert math.prod(scores) == pytest.approx(1.0, rel=1e-9)


def test_the_wikipedia_example_with_the_prior() -> None:
    """The same games as two-entry ballots, with the prior: the order stays D, B, then
    C and A close together, all drawn towards the median (score 1)."""
    teams = "ABCD"
    ballots = [
        [teams[i], teams[j]]
        for i, row in enumerate(WIKIPEDIA_WINS)
        for j, count in enumerate(row)
        for _ in range(count)
    ]
    scores = bradley_terry(list(teams), ballots)
    plain = dict(zip(teams, bradley_terry_wins(WIKIPEDIA_WINS, prior=False), strict=True))
    assert scores["D"] > scores["B"] > scores["C"] > scores["A"]
    assert scores["D"] / scores["A"] < plain["D"] / plain["A"]
    gaps = fixed_point_gaps(with_median(scores), games_of(list(teams), ballots))
    assert max(gaps) < 1e-7


# --- order, ties and determinism -------------------------------------------------------


def test_entries_alike_by_symmetry_tie_exactly() -> None:
    """Every ballot comes with its image under swapping a and b (and c and d), so each
    pair's scores are equal by symmetry: after rounding, exactly."""
    rng = random.Random(3)
    entries = [f"e{i}" for i in range(12)] + ["a", "b", "c", "d"]
    swap = {"a": "b", "b": "a", "c": "d", "d": "c"}
    ballots = []
    for _ in range(40):
        ballot = rng.sample(entries, rng.randint(3, 8))
        ballots += [ballot, [swap.get(e, e) for e in ballot]]
    scores = bradley_terry(entries, ballots)
    assert scores["a"] == scores["b"]
    assert scores["c"] == scores["d"]
    assert len(set(scores.values())) > 8  # not all tied


def test_scores_keep_the_significant_digits() -> None:
    assert round_score(1.23456789012345) == 1.23456789
    assert round_score(0.000123456789012) == 0.000123456789
    assert SIGNIFICANT_DIGITS == 9


def test_a_clear_order_is_kept() -> None:
    ballots = [["a", "b", "c", "d"]] * 3 + [["b", "a", "c", "d"], ["a", "c", "b", "d"]]
    scores = bradley_terry(["d", "c", "b", "a"], ballots)
    assert scores["a"] > scores["b"] > scores["c"] > scores["d"]
    assert scores["a"] > 1 > scores["d"]


def test_same_ballots_same_scores_in_any_order() -> None:
    rng = random.Random(5)
    entries = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(30)]
    ballots = [rng.sample(entries, rng.randint(3, 10)) for _ in range(60)]
    first = bradley_terry(entries, ballots)
    assert bradley_terry(entries, ballots) == first
    shuffled = ballots[:]
    rng.shuffle(shuffled)
    assert bradley_terry(list(reversed(entries)), shuffled) == first


# --- what the caller gets wrong --------------------------------------------------------


def test_unknown_or_repeated_entries_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown entry"):
        bradley_terry(["a", "b", "c"], [["a", "b", "z"]])
    with pytest.raises(ValueError, match="twice"):
        bradley_terry(["a", "b", "c"], [["a", "b", "a"]])
    with pytest.raises(ValueError, match="twice"):
        bradley_terry(["a", "b", "a"], [])
    with pytest.raises(ValueError, match="unknown entry"):
        ballot_counts(["a", "b"], [["a", "b", "z"]])
    with pytest.raises(ValueError, match="won and lost"):
        bradley_terry_wins([[0, 1], [0, 0]], prior=False)
    with pytest.raises(ValueError, match="square"):
        bradley_terry_wins([[0, 1, 2], [1, 0, 2]])


def test_nothing_to_rank() -> None:
    assert bradley_terry([], []) == {}
    assert bradley_terry(["a", "b"], []) == {"a": 1.0, "b": 1.0}
    assert ballot_counts([], []) == {}


def test_ballot_counts() -> None:
    ballots = [["a", "b", "c"], ["c", "a", "d"], ["d", "c", "b"]]
    assert ballot_counts(["a", "b", "c", "d", "e"], ballots) == {
        "a": 2,
        "b": 2,
        "c": 3,
        "d": 2,
        "e": 0,
    }


# --- scale ----------------------------------------------------------------------------


def test_two_thousand_entries_fifty_thousand_ballots() -> None:
    """Ballots drawn from a Plackett-Luce model (each reader orders 5 to 20 entries by
    log-strength plus Gumbel noise): the fitted log-scores follow the true strengths.
    The time is measured outside the tests (about 1.2 s on the 2-core machine)."""
    rng = random.Random(2026)
    entries = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(2000)]
    strength = {entry: rng.gauss(0, 1) for entry in entries}

    def noisy(entry: uuid.UUID) -> float:
        return strength[entry] - math.log(-math.log(1 - rng.random()))

    ballots = []
    for _ in range(50_000):
        read = rng.sample(entries, rng.randint(5, 20))
        ballots.append(sorted(read, key=noisy, reverse=True))

    scores = bradley_terry(entries, ballots)
    assert scores.keys() == set(entries)
    assert all(math.isfinite(s) and s > 0 for s in scores.values())
    truth = [strength[e] for e in entries]
    fitted = [math.log(scores[e]) for e in entries]
    assert correlation(truth, fitted) > 0.99
    best = max(entries, key=strength.__getitem__)
    worst = min(entries, key=strength.__getitem__)
    assert scores[best] > 10 > 0.1 > scores[worst]
    counts = ballot_counts(entries, ballots)
    assert sum(counts.values()) == sum(len(b) for b in ballots)


def correlation(xs: Sequence[float], ys: Sequence[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    vx = sum((x - mx) ** 2 for x in xs)
    vy = sum((y - my) ** 2 for y in ys)
    return cov / math.sqrt(vx * vy)
