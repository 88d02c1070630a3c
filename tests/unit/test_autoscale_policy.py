"""The autoscaling policy as tables: policy, replicas, use and past recommendations in, replica count out."""

from __future__ import annotations

import pytest

from kob.policy.autoscale import Decision, Recommendation, decide, kept_history
from kob.spec.service_model import Autoscale

NOW = 1000.0
CPU = Autoscale(min=1, max=10, cpu=50)
BOTH = Autoscale(min=1, max=10, cpu=50, memory=80)
MEMORY = Autoscale(min=1, max=10, memory=80)
UP_60 = Autoscale(min=1, max=10, cpu=50, scale_up_window=60)
DOWN_0 = Autoscale(min=1, max=10, cpu=50, scale_down_window=0)
STEP_1 = Autoscale(min=1, max=10, cpu=50, max_step=1)
NARROW = Autoscale(min=3, max=3, cpu=50)
RANGE = Autoscale(min=2, max=5, cpu=50)


def past(*pairs: tuple[float, int]) -> list[Recommendation]:
    return [Recommendation(time, replicas) for time, replicas in pairs]


METRIC_CASES = [
    # id, policy, current, usage, desired, reason substring
    ("within tolerance above", CPU, 2, {"cpu": [54, 54]}, 2, "cpu 54% of 50% target on 2 replicas: within tolerance"),
    ("within tolerance below", CPU, 2, {"cpu": [46, 46]}, 2, "within tolerance"),
    ("tolerance edge is within", CPU, 2, {"cpu": [55, 55]}, 2, "within tolerance"),
    ("just past tolerance", CPU, 2, {"cpu": [56, 56]}, 3, "cpu 56% of 50% target on 2 replicas: 3"),
    ("scale up", CPU, 2, {"cpu": [92, 92]}, 4, "cpu 92% of 50% target on 2 replicas: 4"),
    ("scale up from one", CPU, 1, {"cpu": [120]}, 3, "on 1 replica: 3"),
    ("scale down on first run", CPU, 4, {"cpu": [20, 20, 20, 20]}, 2, "cpu 20% of 50% target on 4 replicas: 2"),
    ("uneven use averages", CPU, 3, {"cpu": [10, 50, 90]}, 3, "cpu 50% of 50% target"),
    ("exact multiple despite float noise", Autoscale(min=1, max=40, cpu=70), 7, {"cpu": [290] * 7}, 29, ": 29"),
    ("highest metric wins: memory", BOTH, 2, {"cpu": [60, 60], "memory": [200, 200]}, 5,
     "cpu 60% of 50% target on 2 replicas: 3, memory 200% of 80% target on 2 replicas: 5"),
    ("highest metric wins: cpu", BOTH, 4, {"cpu": [80] * 4, "memory": [20] * 4}, 7, "memory 20% of 80% target"),
    ("one metric within tolerance holds the other's scale-down", BOTH, 4, {"cpu": [50] * 4, "memory": [10] * 4}, 4,
     "cpu 50% of 50% target on 4 replicas: within tolerance, memory 10% of 80% target on 4 replicas: 1"),
    ("missing replicas count as 0% on scale up", CPU, 3, {"cpu": [150, 150]}, 6,
     "cpu 150% of 50% target on 2 of 3 replicas: 6 (missing ones count as 0%)"),
    ("None counts as 0% on scale up", CPU, 3, {"cpu": [150, None, 150]}, 6, "on 2 of 3 replicas: 6"),
    ("filling flips a scale up", CPU, 3, {"cpu": [100, None]}, 3, "no change once missing ones count as 0%"),
    ("filling brings a scale up within tolerance", CPU, 4, {"cpu": [70, 70, 70]}, 4,
     "no change once missing ones count as 0%"),
    ("missing replicas count as 100% on scale down", CPU, 4, {"cpu": [10, 10, None, None]}, 3,
     "cpu 10% of 50% target on 2 of 4 replicas: 3 (missing ones count as 50%)"),
    ("filling brings a scale down within tolerance", CPU, 4, {"cpu": [30, None, None, None]}, 4,
     "no change once missing ones count as 50%"),
    ("memory-only policy ignores cpu", MEMORY, 2, {"cpu": [500, 500], "memory": [40, 40]}, 1,
     "memory 40% of 80% target on 2 replicas: 1"),
    ("a metric without a sample gives no proposal", BOTH, 2, {"cpu": [None, None], "memory": [200, 200]}, 5,
     "memory 200% of 80% target on 2 replicas: 5"),
]


@pytest.mark.parametrize("policy, current, usage, desired, reason", [c[1:] for c in METRIC_CASES],
                         ids=[c[0] for c in METRIC_CASES])
def test_metrics_give_the_recommendation(policy, current, usage, desired, reason):
    decision = decide(policy, current, usage, [], NOW)
    assert (decision.desired, decision.recommendation) == (desired, desired)
    assert reason in decision.reason
    assert "\n" not in decision.reason and not decision.reason.endswith(".")


NO_METRIC_CASES = [
    ("no usage at all", CPU, {}, "no metrics for cpu yet: keep 3"),
    ("no sample yet", CPU, {"cpu": [None, None, None]}, "no metrics for cpu yet"),
    ("empty lists", BOTH, {"cpu": [], "memory": []}, "no metrics for cpu or memory yet: keep 3"),
    ("untargeted metric is ignored", CPU, {"memory": [200, 200, 200]}, "no metrics for cpu yet"),
]


@pytest.mark.parametrize("policy, usage, reason", [c[1:] for c in NO_METRIC_CASES], ids=[c[0] for c in NO_METRIC_CASES])
def test_without_metrics_nothing_changes(policy, usage, reason):
    decision = decide(policy, 3, usage, past((NOW - 10, 8)), NOW)
    assert decision == Decision(current=3, desired=3, recommendation=None, reason=decision.reason)
    assert reason in decision.reason
    assert not decision.changed


WINDOW_CASES = [
    # id, policy, current, usage, history, desired, reason substring
    ("scale-down held by the window", CPU, 4, {"cpu": [20] * 4}, past((900, 4)), 4,
     "held by the 300s scale-down window (highest recommendation 4): 4"),
    ("scale-down held partly", CPU, 4, {"cpu": [20] * 4}, past((800, 2), (900, 3)), 3,
     "held by the 300s scale-down window (highest recommendation 3): 3"),
    ("higher recommendation than current holds at current", CPU, 4, {"cpu": [20] * 4}, past((900, 6)), 4,
     "(highest recommendation 6): 4"),
    ("scale-down released once older ones leave the window", CPU, 4, {"cpu": [20] * 4}, past((700, 4), (710, 2)), 2,
     "cpu 20% of 50% target on 4 replicas: 2"),
    ("zero scale-down window: only the new recommendation", DOWN_0, 4, {"cpu": [20] * 4}, past((NOW, 4)), 2, ": 2"),
    ("default scale-up window is 0: scale up at once", CPU, 2, {"cpu": [92, 92]}, past((NOW - 1, 1)), 4, ": 4"),
    ("scale-up held by its window", UP_60, 2, {"cpu": [92, 92]}, past((950, 2)), 2,
     "held by the 60s scale-up window (lowest recommendation 2): 2"),
    ("scale-up held partly", UP_60, 2, {"cpu": [92, 92]}, past((950, 3)), 3, "(lowest recommendation 3): 3"),
    ("scale-up released once older ones leave the window", UP_60, 2, {"cpu": [92, 92]}, past((940, 2)), 4, ": 4"),
    ("lower past recommendations do not pull a scale-down further", UP_60, 4, {"cpu": [20] * 4}, past((990, 1)), 2,
     "cpu 20% of 50% target on 4 replicas: 2"),
]


@pytest.mark.parametrize("policy, current, usage, history, desired, reason", [c[1:] for c in WINDOW_CASES],
                         ids=[c[0] for c in WINDOW_CASES])
def test_windows_stabilize(policy, current, usage, history, desired, reason):
    decision = decide(policy, current, usage, history, NOW)
    assert decision.desired == desired
    assert reason in decision.reason


LIMIT_CASES = [
    # id, policy, current, usage, desired, reason substring
    ("max step up", STEP_1, 2, {"cpu": [92, 92]}, 3, "cpu 92% of 50% target on 2 replicas: 4; max step 1: 3"),
    ("max step down", STEP_1, 4, {"cpu": [20] * 4}, 3, "max step 1: 3"),
    ("within max step", STEP_1, 2, {"cpu": [70, 70]}, 3, "on 2 replicas: 3"),
    ("max clamps", Autoscale(min=1, max=3, cpu=50), 2, {"cpu": [92, 92]}, 3, "on 2 replicas: 4; max 3: 3"),
    ("min clamps", Autoscale(min=3, max=10, cpu=50), 4, {"cpu": [20] * 4}, 3, "on 4 replicas: 2; min 3: 3"),
    ("step then clamp", Autoscale(min=1, max=3, cpu=50, max_step=5), 2, {"cpu": [500, 500]}, 3, "max 3: 3"),
    ("min equals max", NARROW, 3, {"cpu": [100] * 3}, 3, "max 3: 3"),
]


@pytest.mark.parametrize("policy, current, usage, desired, reason", [c[1:] for c in LIMIT_CASES],
                         ids=[c[0] for c in LIMIT_CASES])
def test_step_and_bounds_limit(policy, current, usage, desired, reason):
    decision = decide(policy, current, usage, [], NOW)
    assert decision.desired == desired
    assert reason in decision.reason


OUTSIDE_CASES = [
    ("above max", 7, {"cpu": [100] * 7}, 5, "7 replicas outside 2..5: 5"),
    ("below min", 1, {}, 2, "1 replicas outside 2..5: 2"),
    ("none at all", 0, {}, 2, "outside 2..5: 2"),
]


@pytest.mark.parametrize("current, usage, desired, reason", [c[1:] for c in OUTSIDE_CASES],
                         ids=[c[0] for c in OUTSIDE_CASES])
def test_outside_the_range_goes_back_to_it_without_metrics(current, usage, desired, reason):
    decision = decide(RANGE, current, usage, past((NOW - 1, 4)), NOW)
    assert (decision.desired, decision.recommendation, decision.changed) == (desired, None, True)
    assert reason in decision.reason


KEPT_CASES = [
    # id, policy, history times, kept times
    ("the longer down window decides", UP_60, [600, 700, 701, 950, NOW], [701, 950, NOW]),
    ("the longer up window decides", Autoscale(min=1, max=3, cpu=50, scale_up_window=600, scale_down_window=0),
     [300, 400, 401, NOW], [401, NOW]),
    ("zero windows keep nothing", Autoscale(min=1, max=3, cpu=50, scale_down_window=0), [900, NOW], []),
    ("empty stays empty", CPU, [], []),
]


@pytest.mark.parametrize("policy, times, kept", [c[1:] for c in KEPT_CASES], ids=[c[0] for c in KEPT_CASES])
def test_kept_history_drops_what_left_the_longest_window(policy, times, kept):
    history = [Recommendation(time, 2) for time in times]
    assert [r.time for r in kept_history(policy, history, NOW)] == kept


def test_a_caller_loop_scales_down_once_the_window_has_passed():
    history: list[Recommendation] = []
    replicas, seen = 4, []
    for now in range(0, 361, 30):
        decision = decide(CPU, replicas, {"cpu": [80] * replicas if now == 0 else [20] * replicas}, history, now)
        history = kept_history(CPU, [*history, Recommendation(now, decision.recommendation)], now)
        replicas = decision.desired
        seen.append(replicas)
    assert seen == [7] * 10 + [3] * 3  # 80% → 7 at 0s; at 20% the 7 holds until it leaves the window at 300s
