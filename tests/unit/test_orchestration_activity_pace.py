"""`gdx.orchestration.kafka_activity.PollPace`: the activity trigger's wait between admin rounds —
fast while something happens, doubling while idle up to the cap, slower when a round is costly
(many topics), never slower than the cap (the 1-minute event-driven budget)."""

from __future__ import annotations

import pytest

from gdx.orchestration.kafka_activity import DUTY, KafkaActivityTrigger, PollPace


def test_idle_backs_off_to_the_cap_and_activity_resets_it() -> None:
    pace = PollPace(fast_s=2.0, max_s=15.0)
    idle = [pace.next(busy=False, round_s=0.01) for _ in range(6)]
    assert idle == [4.0, 8.0, 15.0, 15.0, 15.0, 15.0]
    assert pace.next(busy=True, round_s=0.01) == 2.0  # a change seen: fast until the burst is quiet
    assert pace.next(busy=True, round_s=0.01) == 2.0
    assert pace.next(busy=False, round_s=0.01) == 4.0  # backing off again from the start


def test_a_costly_round_waits_longer_but_never_past_the_cap() -> None:
    pace = PollPace(fast_s=2.0, max_s=15.0)
    # a round of 0.5 s (thousands of topics) at 5 % duty: 10 s at once, not 4 s
    assert pace.next(busy=False, round_s=0.5) == pytest.approx(0.5 / DUTY) == 10.0
    assert pace.next(busy=False, round_s=5.0) == 15.0  # the cap holds even for a very slow round
    # while a burst is pending the fast pace wins over the cost: the quiet period is measured in rounds
    assert pace.next(busy=True, round_s=5.0) == 2.0


def test_the_cap_is_never_below_the_fast_pace() -> None:
    trigger = KafkaActivityTrigger(topics=["t"], poll_s=5.0, max_poll_s=1.0)
    assert trigger.max_poll_s == 5.0
    assert trigger.serialize()[1]["max_poll_s"] == 5.0
    assert PollPace(fast_s=5.0, max_s=5.0).next(busy=False, round_s=0.0) == 5.0
