"""The retry policy: which failures are tried again, and how long to wait before each try."""

from __future__ import annotations

import random

import pytest

from engine.channels.twilio.errors import SendVerdict, classify, describe
from engine.service.retry import RetryPolicy


@pytest.mark.parametrize(
    "status, code, verdict",
    [
        (None, None, SendVerdict.RETRY),  # no answer: network error or timeout
        (429, 20429, SendVerdict.RETRY),
        (429, None, SendVerdict.RETRY),
        (500, None, SendVerdict.RETRY),
        (502, None, SendVerdict.RETRY),
        (503, 20503, SendVerdict.RETRY),
        (400, 21211, SendVerdict.PERMANENT),  # invalid number
        (400, 21610, SendVerdict.PERMANENT),  # unsubscribed
        (400, 63003, SendVerdict.PERMANENT),  # not a WhatsApp user
        (400, 21408, SendVerdict.PERMANENT),
        (400, 21614, SendVerdict.PERMANENT),
        (400, 99999, SendVerdict.PERMANENT),  # unknown code, but a 4xx
        (401, 20003, SendVerdict.PERMANENT),
        (404, None, SendVerdict.PERMANENT),
        (400, 63016, SendVerdict.WINDOW),  # outside the 24-hour window
        (201, None, SendVerdict.SENT),
    ],
)
def test_classify(status, code, verdict):
    assert classify(status, code) is verdict


def test_descriptions_name_the_problem_in_spanish():
    assert describe(400, 21211) == "número de destino inválido (21211)"
    assert "63016" in describe(400, 63016)
    assert describe(None, None).startswith("sin respuesta")
    assert describe(500, None) == "Twilio respondió 500"
    assert describe(400, 12345) == "Twilio respondió 400, error 12345"


def test_the_ceiling_grows_by_the_factor_up_to_the_cap():
    policy = RetryPolicy(base=1, factor=2, cap=30, max_attempts=10)
    assert [policy.ceiling(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert policy.ceiling(10_000) == 30  # no float overflow after many tries


def test_full_jitter_draws_between_zero_and_the_ceiling():
    assert RetryPolicy(base=1, factor=2, cap=30, random=lambda: 0.0).delay(4) == 0.0
    assert RetryPolicy(base=1, factor=2, cap=30, random=lambda: 0.5).delay(4) == 4.0
    assert RetryPolicy(base=1, factor=2, cap=30, random=lambda: 0.999).delay(9) == pytest.approx(29.97)


def test_a_seeded_source_gives_delays_spread_under_each_ceiling():
    policy = RetryPolicy(base=0.5, factor=3, cap=60, random=random.Random(7).random)
    delays = [policy.delay(n) for n in range(1, 200)]
    assert all(0 <= d <= policy.ceiling(n) for n, d in zip(range(1, 200), delays))
    late = delays[10:]
    assert min(late) < 15 and max(late) > 45  # spread over the range, not bunched at the cap


def test_max_attempts():
    policy = RetryPolicy(max_attempts=3)
    assert not policy.exhausted(2)
    assert policy.exhausted(3)


@pytest.mark.parametrize(
    "kwargs", [{"base": 0}, {"factor": 0.5}, {"base": 10, "cap": 5}, {"max_attempts": 0}]
)
def test_nonsense_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
