"""How many replicas a service should run, from its resource use: the HorizontalPodAutoscaler's algorithm.

Pure: the caller passes the measured use, the stored recommendations and the time. After each
:func:`decide` whose ``recommendation`` is not None, the caller appends it and stores
``kept_history(policy, [*history, Recommendation(now, decision.recommendation)], now)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kob.spec.service_model import Autoscale

METRICS = ("cpu", "memory")
EPSILON = 1e-9  # float noise: 29.000000000000004 replicas is 29, a ratio of 1.1000000000000001 is within 0.1


@dataclass(frozen=True)
class Recommendation:
    time: float  # unix seconds
    replicas: int


@dataclass(frozen=True)
class Decision:
    current: int
    desired: int  # what to scale to; == current: do nothing
    recommendation: int | None  # the metric-based proposal before windows, step and clamp; None: no metrics
    reason: str  # one line for people

    @property
    def changed(self) -> bool:
        return self.desired != self.current


def decide(policy: Autoscale, current: int, usage: Mapping[str, Sequence[float | None]],
           history: Sequence[Recommendation], now: float) -> Decision:
    """The replica count to run now.

    ``usage`` maps "cpu"/"memory" to one utilization per current replica, in percent of its
    request; None or an absent entry is a replica without a sample. ``history`` holds the earlier
    recommendations; the caller appends this one (see the module docstring).
    """
    if policy.clamp(current) != current:
        desired = policy.clamp(current)
        return Decision(current, desired, None, f"{current} replicas outside {policy.min}..{policy.max}: {desired}")
    proposals = [p for name in METRICS if (p := _metric_proposal(policy, name, current, usage.get(name, ())))]
    if not proposals:
        return Decision(current, current, None, f"no metrics for {_targets(policy)} yet: keep {current}")
    recommendation = max(n for n, _ in proposals)
    reasons = [", ".join(text for _, text in proposals)]
    desired = _stabilized(policy, current, recommendation, history, now, reasons)
    desired = _stepped(policy, current, desired, reasons)
    desired = _clamped(policy, desired, reasons)
    return Decision(current, desired, recommendation, "; ".join(reasons))


def kept_history(policy: Autoscale, history: Sequence[Recommendation], now: float) -> list[Recommendation]:
    """The recommendations still inside the longest window: what to store for the next pass."""
    longest = max(policy.scale_up_window, policy.scale_down_window)
    return [r for r in history if r.time > now - longest]


def _targets(policy: Autoscale) -> str:
    return " or ".join(name for name in METRICS if getattr(policy, name) is not None)


def _metric_proposal(policy: Autoscale, name: str, current: int,
                     values: Sequence[float | None]) -> tuple[int, str] | None:
    """(replicas, reason) for one metric, or None when it is not targeted or has no sample."""
    target = getattr(policy, name)
    present = [v for v in list(values)[:current] if v is not None]
    if target is None or not present:
        return None
    mean = sum(present) / len(present)
    missing = current - len(present)
    seen = f"{name} {mean:.0f}% of {target:.0f}% target on {_replicas(len(present), current)}"
    ratio = mean / target
    if abs(ratio - 1) <= policy.tolerance + EPSILON:
        return current, f"{seen}: within tolerance"
    fill = 0.0 if ratio > 1 else target
    filled = (sum(present) + fill * missing) / current / target
    if abs(filled - 1) <= policy.tolerance + EPSILON or (filled > 1) != (ratio > 1):
        return current, f"{seen}: no change once missing ones count as {fill:.0f}%"
    proposal = math.ceil(current * filled - EPSILON)
    return proposal, f"{seen}: {proposal}" + (f" (missing ones count as {fill:.0f}%)" if missing else "")


def _replicas(present: int, current: int) -> str:
    counted = f"{present} of {current}" if present < current else f"{current}"
    return f"{counted} replica" + ("" if current == 1 else "s")


def _stabilized(policy: Autoscale, current: int, recommendation: int, history: Sequence[Recommendation],
                now: float, reasons: list[str]) -> int:
    """HPA's stabilization: scale up to the lowest recent recommendation, down to the highest one."""
    def within(window: float) -> list[int]:
        return [r.replicas for r in history if r.time > now - window] + [recommendation]

    lowest, highest = min(within(policy.scale_up_window)), max(within(policy.scale_down_window))
    desired = min(max(current, lowest), highest)
    if desired < recommendation:
        reasons.append(f"held by the {policy.scale_up_window:g}s scale-up window (lowest recommendation {lowest}): "
                       f"{desired}")
    elif desired > recommendation:
        reasons.append(f"held by the {policy.scale_down_window:g}s scale-down window "
                       f"(highest recommendation {highest}): {desired}")
    return desired


def _stepped(policy: Autoscale, current: int, desired: int, reasons: list[str]) -> int:
    step = policy.max_step
    if step is None or abs(desired - current) <= step:
        return desired
    desired = current + step if desired > current else current - step
    reasons.append(f"max step {step}: {desired}")
    return desired


def _clamped(policy: Autoscale, desired: int, reasons: list[str]) -> int:
    if desired < policy.min:
        reasons.append(f"min {policy.min}: {policy.min}")
    elif desired > policy.max:
        reasons.append(f"max {policy.max}: {policy.max}")
    return policy.clamp(desired)
