"""How long to wait before trying again, written in one place for every send and every order
waiting for its store: ``RetryPolicy.delay(attempt)`` is exponential backoff with "full jitter"
(a uniform draw between 0 and the exponential ceiling). Full jitter rather than a fixed schedule
because every instance retries after the same outage: spreading the retries keeps them from
arriving together and tripping the 429s again. Which failures are worth a retry is the channel's
to say (``engine.channels.twilio.errors.classify``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: before try ``n + 1`` (after ``n`` failures) wait a
    uniform draw in ``[0, min(cap, base * factor ** (n - 1))]`` seconds; give up after
    ``max_attempts`` failed tries.

    The defaults keep a message trying for roughly a day (about 500 tries averaging 150 s each
    once the cap is reached): long enough to outlast a Twilio incident, short enough that an
    order notice is not delivered when it no longer means anything.
    """

    base: float = 1.0
    factor: float = 2.0
    cap: float = 300.0
    max_attempts: int = 500
    random: Callable[[], float] = field(default_factory=lambda: random.Random().random, compare=False)
    """A draw in ``[0, 1)``; tests pass a fixed one (``lambda: 0.5``) or a seeded ``Random``."""

    def __post_init__(self) -> None:
        if self.base <= 0 or self.factor < 1 or self.cap < self.base or self.max_attempts < 1:
            raise ValueError(f"invalid retry policy: {self!r}")

    def ceiling(self, attempt: int) -> float:
        """The longest wait after ``attempt`` failed tries (1 for the first failure)."""
        exponent = max(0, attempt - 1)
        # Compared in logarithms: factor ** exponent overflows a float long before attempt 500.
        if exponent * math.log(self.factor) >= math.log(self.cap / self.base):
            return self.cap
        return self.base * self.factor**exponent

    def delay(self, attempt: int) -> float:
        """Seconds to wait after ``attempt`` failed tries."""
        return self.random() * self.ceiling(attempt)

    def exhausted(self, attempt: int) -> bool:
        """True when ``attempt`` failed tries are all this policy allows."""
        return attempt >= self.max_attempts
