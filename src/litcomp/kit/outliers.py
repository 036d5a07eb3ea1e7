"""Which instances answer errors so much more often than their peers that they are broken.

The circuit breaker (``kit.breaker``) counts what says an instance cannot be reached:
timeouts and failed connections. An error *answer* (HTTP 5xx, gRPC INTERNAL) says no
such thing: it is as often the request's fault, or a dependency's that every instance
shares (a 503 while the database restarts). When one client's requests made every
instance answer 500, counting those opened every breaker, and the service was down for
everyone. So an error answer counts only if the instance's error rate stands out from
its peers', as Envoy's success-rate outlier detection has it.

The rule (``outliers``), over one interval's answers (``OutlierPolicy.interval``, 10 s):

- An instance is judged only with at least ``request_volume`` answers in the interval
  (Envoy: 100), and only when at least ``min_hosts`` instances have that many (Envoy:
  5; ours is 2, as we run few replicas). One instance alone is never an outlier: there
  is nothing to tell its errors from the requests' own.
- It is an outlier when its error rate exceeds its peers' (their answers pooled) by
  more than ``stdev_factor`` standard deviations of that difference: the binomial
  standard error ``sqrt(p (1 - p) (1/n + 1/m))``, with ``p`` the error rate of all of
  them, ``n`` its answers and ``m`` its peers'. (Envoy measures the spread between the
  instances' rates instead, mean - 1.9 stdev; the lowest of ``k`` rates lies at most
  ``sqrt(k - 1)`` of those below their mean, so with 1.9 it never fires under 5 hosts.)
  With 4 (ours), a difference that large comes by chance less than once in 30,000
  intervals (by the normal approximation); at 3, once in 740, several times a day
  under a steady mix of errors.
- Errors shared alike (a bad request spread by the balancer, a shared database down)
  make no instance stand out, and every instance failing makes ``p`` 1 and the
  deviation 0: nobody is ejected.

An outlier's breaker is opened (``CircuitBreaker.eject``): it gets no traffic for a
cooldown, then one probe as after any opening. ``InstanceTable`` never ejects below half of
the instances serving, and with fewer than half healthy (for whatever reason) balances
over every instance, breakers ignored (Envoy's panic threshold, 50%): a breaker guards
against one bad instance, and when most look bad the fault is more likely elsewhere.

Pure: counts in, indexes out.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class OutlierPolicy:
    interval: float = 10.0
    request_volume: int = 10
    min_hosts: int = 2
    stdev_factor: float = 4.0
    panic_below: float = 0.5  # the share of healthy instances under which breakers are ignored


DEFAULT_OUTLIERS = OutlierPolicy()


def outliers(answers: list[int], errors: list[int], policy: OutlierPolicy) -> list[int]:
    """The indexes of the instances whose error rate stands out, given each one's
    ``answers`` in the interval and how many of them were ``errors``."""
    judged = [i for i, count in enumerate(answers) if count >= policy.request_volume]
    if len(judged) < max(policy.min_hosts, 2):  # an instance needs peers to stand out from
        return []
    total_answers = sum(answers[i] for i in judged)
    total_errors = sum(errors[i] for i in judged)
    found = []
    for i in judged:
        n, m = answers[i], total_answers - answers[i]
        rate, peers = errors[i] / n, (total_errors - errors[i]) / m
        p = total_errors / total_answers
        spread = math.sqrt(p * (1 - p) * (1 / n + 1 / m))
        if spread > 0 and rate - peers > policy.stdev_factor * spread:
            found.append(i)
    return found
