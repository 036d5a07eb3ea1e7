"""litcomp.kit.outliers: when an instance's error answers stand out from its peers'.

Over one interval, each instance judged (at least ``request_volume`` answers, at least
``min_hosts`` such instances) is an outlier when its error rate exceeds its peers'
pooled rate by more than ``stdev_factor`` standard errors of the difference.
"""

import pytest

from litcomp.kit.outliers import DEFAULT_OUTLIERS, OutlierPolicy, outliers

POLICY = OutlierPolicy(request_volume=10, min_hosts=2, stdev_factor=4.0)


def test_defaults() -> None:
    assert (
        OutlierPolicy(
            interval=10.0, request_volume=10, min_hosts=2, stdev_factor=4.0, panic_below=0.5
        )
        == DEFAULT_OUTLIERS
    )


def test_an_instance_failing_everything_beside_healthy_peers_is_an_outlier() -> None:
    assert outliers([10, 10], [10, 0], POLICY) == [0]
    assert outliers([20, 20, 20], [0, 20, 1], POLICY) == [1]


def test_one_instance_alone_is_never_an_outlier() -> None:
    """Nothing tells its errors from the requests' own: the attack on a single users
    instance (every bio a lone surrogate) must not eject it."""
    assert outliers([1000], [1000], POLICY) == []


def test_errors_spread_alike_make_no_outlier() -> None:
    """One client's bad requests, balanced over every instance."""
    assert outliers([40, 40, 40], [20, 15, 18], POLICY) == []
    assert outliers([400, 400], [200, 170], POLICY) == []


def test_every_instance_failing_ejects_none() -> None:
    """A 503 from each while their shared database restarts."""
    assert outliers([50, 50, 50], [50, 50, 50], POLICY) == []


def test_no_errors_no_outliers() -> None:
    assert outliers([50, 50], [0, 0], POLICY) == []


def test_instances_below_the_request_volume_are_not_judged_nor_peers() -> None:
    assert outliers([9, 10], [9, 0], POLICY) == []  # the failing one has too few answers
    assert outliers([10, 9], [10, 0], POLICY) == []  # its only peer has too few
    assert outliers([10, 9, 10], [10, 0, 0], POLICY) == [0]  # judged against the other


def test_min_hosts_counts_the_instances_with_enough_answers() -> None:
    three = OutlierPolicy(request_volume=10, min_hosts=3, stdev_factor=4.0)
    assert outliers([10, 10], [10, 0], three) == []
    assert outliers([10, 10, 10], [10, 0, 0], three) == [0]


@pytest.mark.parametrize(
    ("answers", "errors", "expected"),
    [
        # p = 0.25, standard error 0.19: half against none is 2.6 of them, not 4
        ([10, 10], [5, 0], []),
        # with twice the answers, 0.14: 3.7, still not
        ([20, 20], [10, 0], []),
        # with four times, 0.097: 5.2
        ([40, 40], [20, 0], [0]),
    ],
)
def test_the_difference_must_exceed_stdev_factor_standard_errors(
    answers: list[int], errors: list[int], expected: list[int]
) -> None:
    assert outliers(answers, errors, POLICY) == expected


def test_a_lower_factor_ejects_sooner() -> None:
    assert outliers([20, 20], [10, 0], OutlierPolicy(stdev_factor=3.0)) == [0]
