"""The bench's --quick target: primes' is_prime over six numbers near 1e12 (about 25 ms each).

The shape of primes' list: one duplicate and one composite with the factor 3306091.
``profkit profile scripts/bench_children/small_primes.py:SMALL_PRIMES`` runs it.
"""

from profkit.workloads.model import Workload
from profkit.workloads.primes import is_prime

ITEMS = [1000000000039, 1000000000061, 1000000000039, 1000000000063, 1000000000091, 3306091 * 302459]

SMALL_PRIMES = Workload("bench-small-primes", is_prime, ITEMS,
                        description="six numbers near 1e12: the lesson's shape, smaller")
