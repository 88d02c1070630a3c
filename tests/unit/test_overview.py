"""The status page's pure parts: a host's state, and the filters that print times and shares."""

from __future__ import annotations

import pytest

from kob.view.overview import Live, host_state
from kob.deploy.observe import ClusterObservation
from kob.facts.containers import HostObservation
from kob.web.formats import ago, share

SEEN = Live(ClusterObservation(hosts={"vm1": HostObservation("vm1", ())}, unreachable={"vm2": "vm2: no route"}))


@pytest.mark.parametrize("name, record, live, expected", [
    ("vm1", {}, SEEN, "up"),  # answered just now, whatever the record says
    ("vm1", {"down_since": 5.0}, SEEN, "up"),
    ("vm2", {"last_seen": 1.0}, SEEN, "unanswered"),  # silent now, not yet counted down
    ("vm2", {"last_seen": 1.0, "unanswered_since": 2.0, "down_since": 9.0}, SEEN, "down"),
    ("vm3", {}, SEEN, "unknown"),  # not in the observation and never recorded
    ("vm1", {"last_seen": 1.0}, None, "up"),  # no live look: the record decides
    ("vm1", {"last_seen": 1.0, "unanswered_since": 2.0}, None, "unanswered"),
    ("vm1", {"last_seen": 1.0, "down_since": 3.0}, None, "down"),
    ("vm1", {}, None, "unknown"),
])
def test_host_state(name, record, live, expected):
    assert host_state(name, record, live) == expected


@pytest.mark.parametrize("when, now, expected", [
    (None, 0, "-"), (100, 100, "0 s ago"), (100, 159, "59 s ago"), (100, 160, "1 min ago"),
    (0, 3599, "59 min ago"), (0, 3600, "1 h ago"), (0, 86400 * 3, "3 d ago"), (200, 100, "0 s ago"),
])
def test_ago(when, now, expected):
    assert ago(when, now) == expected


@pytest.mark.parametrize("used, total, expected", [(1, 4, 25.0), (0, 0, None), (None, 4, None), (3, 3, 100.0)])
def test_share(used, total, expected):
    assert share(used, total) == expected
