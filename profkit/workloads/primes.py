"""Six primality tests: the headline example of the concurrent.futures lesson profkit grew from."""

from __future__ import annotations

import math

from profkit.workloads.model import Workload

#: The lesson's list, duplicate included; 1099726899285419 has the factor 3306091.
PRIMES = [
    112272535095293,
    112582705942171,
    112272535095293,
    115280095190773,
    115797848077099,
    1099726899285419,
]


def is_prime(n: int) -> bool:
    """Trial division by odd numbers up to the square root (the lesson's code)."""
    if n < 2:
        return False
    if n == 2:
        return True
    if n % 2 == 0:
        return False

    sqrt_n = int(math.floor(math.sqrt(n)))
    for i in range(3, sqrt_n + 1, 2):  # noqa: SIM110 - the lesson's loop, kept as written
        if n % i == 0:
            return False
    return True


WORKLOAD = Workload(
    name="primes",
    task=is_prime,
    items=PRIMES,
    description="The concurrent.futures lesson's is_prime over six 15-16 digit numbers (one duplicate, "
                "one composite).",
)
