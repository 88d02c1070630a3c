"""The batch job policy as tables: queue, hosts' room and time in, placements and waiting reasons out."""

from __future__ import annotations

import random

import pytest

from kob.policy.jobs import HostRoom, Placement, QueuedJob, Waiting, next_try, place, schedule
from kob.spec.service_model import Constraint

NOW = 1000.0
G = 1 << 30
M = 1 << 20


def host(name: str, cpus: float = 2.0, used: float = 0.0, memory: int | None = None, used_memory: int = 0,
         labels: dict[str, str] | None = None, roles: tuple[str, ...] = ()) -> HostRoom:
    return HostRoom(name, cpus, memory, used, used_memory, labels or {}, roles)


def job(id: int, cpus: float = 1.0, priority: int = 0, submitted: float | None = None, memory: int | None = None,
        rules: tuple[str, ...] = (), not_before: float = 0.0, avoid: tuple[str, ...] = ()) -> QueuedJob:
    constraints = tuple(Constraint(r.split("=")[0].rstrip("!="), "==" in r, r.split("=")[-1]) for r in rules)
    return QueuedJob(id, priority, float(id) if submitted is None else submitted, cpus, memory, constraints,
                     not_before, frozenset(avoid))


def placed(queue: list[QueuedJob], rooms: list[HostRoom]) -> list[tuple[int, str]]:
    return [(p.job_id, p.host) for p in place(queue, rooms, NOW)]


ORDER_CASES = [
    # id, queue, expected (job, host) in order
    ("priority descending", [job(1, priority=1), job(2, priority=5), job(3, priority=3)],
     [(2, "big"), (3, "big"), (1, "big")]),
    ("FIFO within a priority", [job(1, submitted=30), job(2, submitted=10), job(3, submitted=20)],
     [(2, "big"), (3, "big"), (1, "big")]),
    ("id breaks a tie of submission times", [job(3, submitted=5), job(1, submitted=5), job(2, submitted=5)],
     [(1, "big"), (2, "big"), (3, "big")]),
    ("priority beats an earlier submission", [job(1, submitted=1), job(2, submitted=99, priority=1)],
     [(2, "big"), (1, "big")]),
    ("negative priority goes last", [job(1, priority=-1), job(2)], [(2, "big"), (1, "big")]),
]


@pytest.mark.parametrize("queue, expected", [c[1:] for c in ORDER_CASES], ids=[c[0] for c in ORDER_CASES])
def test_jobs_are_taken_by_priority_then_fifo(queue, expected):
    assert placed(queue, [host("big", cpus=64)]) == expected


def test_the_queue_order_decides_who_gets_scarce_room():
    queue = [job(1, submitted=3), job(2, submitted=1), job(3, submitted=2, priority=-1), job(4, submitted=4)]
    assert placed(queue, [host("vm1", cpus=2)]) == [(2, "vm1"), (1, "vm1")]


CHOICE_CASES = [
    # id, hosts, job, expected host
    ("most free CPUs", [host("vm1", used=1.5), host("vm2", used=0.5), host("vm3", used=1.0)], job(1, cpus=0.5), "vm2"),
    ("free share, not free CPUs: 2 of 4 left beats 5 of 16",
     [host("vm1", cpus=16, used=10), host("vm2", cpus=4, used=1)], job(1), "vm2"),
    ("share after placing the job", [host("vm1", cpus=2), host("vm2", cpus=8)], job(1, cpus=2), "vm2"),
    ("equal CPU share: more free memory share",
     [host("vm1", memory=4 * G, used_memory=3 * G), host("vm2", memory=4 * G)], job(1), "vm2"),
    ("memory share counts the job", [host("vm1", memory=8 * G, used_memory=2 * G), host("vm2", memory=2 * G)],
     job(1, memory=2 * G), "vm1"),
    ("CPU share before memory", [host("vm1", memory=8 * G, used_memory=6 * G), host("vm2", used=0.5, memory=8 * G)],
     job(1), "vm1"),
    ("known free memory before unknown", [host("vm1"), host("vm2", memory=G, used_memory=G - 1)], job(1), "vm2"),
    ("tie: the first name", [host("vm2"), host("vm3"), host("vm1")], job(1), "vm1"),
    ("tie despite float noise: the first name",
     [host("vm2", cpus=1, used=0.6), host("vm1", cpus=1, used=0.1 + 0.2 + 0.3)], job(1, cpus=0.1), "vm1"),
    ("the freest host without room is skipped", [host("vm1", cpus=16, used=15.5), host("vm2", cpus=2, used=1)],
     job(1), "vm2"),
]


@pytest.mark.parametrize("rooms, one, expected", [c[1:] for c in CHOICE_CASES], ids=[c[0] for c in CHOICE_CASES])
def test_a_job_goes_to_the_host_with_the_most_free_capacity(rooms, one, expected):
    assert placed([one], rooms) == [(one.id, expected)]


def test_reservations_accumulate_so_hosts_never_overfill():
    rooms = [host("vm1"), host("vm2"), host("vm3")]
    result = schedule([job(i) for i in range(1, 13)], rooms, NOW)
    assert [(p.job_id, p.host) for p in result.placed] == [(1, "vm1"), (2, "vm2"), (3, "vm3"),
                                                           (4, "vm1"), (5, "vm2"), (6, "vm3")]
    assert [w.job_id for w in result.waiting] == list(range(7, 13))
    assert {w.cause for w in result.waiting} == {"room"}


def test_reservations_accumulate_on_top_of_what_hosts_already_run():
    rooms = [host("vm1", cpus=4, used=3, memory=4 * G, used_memory=G), host("vm2", cpus=4, used=2)]
    queue = [job(1, memory=G), job(2, memory=G), job(3, memory=G)]
    assert placed(queue, rooms) == [(1, "vm2"), (2, "vm1"), (3, "vm2")]


MEMORY_CASES = [
    # id, hosts, queue, expected placements
    ("too little free memory: the other host",
     [host("vm1", memory=4 * G, used_memory=3 * G), host("vm2", used=1.5, memory=4 * G)],
     [job(1, cpus=0.5, memory=2 * G)], [(1, "vm2")]),
    ("memory reservations accumulate", [host("vm1", cpus=8, memory=3 * G)],
     [job(1, memory=G), job(2, memory=G), job(3, memory=G), job(4, memory=G)], [(1, "vm1"), (2, "vm1"), (3, "vm1")]),
    ("exactly the free memory fits", [host("vm1", memory=2 * G, used_memory=G)], [job(1, memory=G)], [(1, "vm1")]),
    ("one byte short does not", [host("vm1", memory=2 * G, used_memory=G + 1)], [job(1, memory=G)], []),
    ("unknown host memory does not limit", [host("vm1", cpus=8)], [job(i, memory=64 * G) for i in (1, 2)],
     [(1, "vm1"), (2, "vm1")]),
    ("a job without memory fits a full host", [host("vm1", memory=G, used_memory=G)], [job(1)], [(1, "vm1")]),
    ("a job without memory takes none", [host("vm1", cpus=4, memory=G)], [job(1), job(2, memory=G)],
     [(1, "vm1"), (2, "vm1")]),
]


@pytest.mark.parametrize("rooms, queue, expected", [c[1:] for c in MEMORY_CASES], ids=[c[0] for c in MEMORY_CASES])
def test_memory_limits_placement_when_known(rooms, queue, expected):
    assert placed(queue, rooms) == expected


ZONED = [host("vm1", labels={"zone": "a"}), host("vm2", used=1, labels={"zone": "b"}, roles=("lb",)),
         host("vm3", used=1.5, roles=("gpu", "lb"))]

CONSTRAINT_CASES = [
    # id, rules, expected host (None: waits)
    ("label equal", ("zone==b",), "vm2"),
    ("label not equal", ("zone!=a",), "vm2"),
    ("not equal allows a host without the label", ("zone!=a", "zone!=b"), "vm3"),
    ("role equal", ("role==gpu",), "vm3"),
    ("role not equal", ("role!=lb",), "vm1"),
    ("all constraints at once", ("role==lb", "zone!=b"), "vm3"),
    ("no host satisfies all", ("zone==a", "role==lb"), None),
    ("unknown label value", ("zone==c",), None),
]


@pytest.mark.parametrize("rules, expected", [c[1:] for c in CONSTRAINT_CASES], ids=[c[0] for c in CONSTRAINT_CASES])
def test_constraints_choose_among_hosts(rules, expected):
    assert placed([job(1, cpus=0.5, rules=rules)], ZONED) == ([(1, expected)] if expected else [])


AVOID_CASES = [
    # id, hosts, avoid, expected host, reason substring
    ("the freest host is avoided", [host("vm1"), host("vm2", used=1)], ("vm1",), "vm2",
     "most free: 0 CPUs of 2 CPUs left; avoids vm1, where it failed or was lost before"),
    ("the only host with room is avoided", [host("vm1"), host("vm2", used=2)], ("vm1",), "vm1",
     "it failed or was lost on vm1 before, but no other host has room"),
    ("all avoided: the freest", [host("vm1", used=1), host("vm2")], ("vm1", "vm2"), "vm2",
     "it failed or was lost on vm2 before"),
    ("an avoided host that is gone changes nothing", [host("vm1", used=1), host("vm2")], ("vm9",), "vm2",
     "most free: 1 CPU of 2 CPUs left"),
]


@pytest.mark.parametrize("rooms, avoid, expected, reason", [c[1:] for c in AVOID_CASES],
                         ids=[c[0] for c in AVOID_CASES])
def test_avoided_hosts_are_used_only_when_nothing_else_fits(rooms, avoid, expected, reason):
    [placement] = place([job(1, avoid=avoid)], rooms, NOW)
    assert placement.host == expected
    assert reason in placement.reason


def test_an_avoided_host_only_constraints_allow_is_used():
    rooms = [host("vm1", labels={"zone": "a"}), host("vm2")]
    assert placed([job(1, avoid=("vm1",), rules=("zone==a",))], rooms) == [(1, "vm1")]


BACKOFF_CASES = [
    # id, queue, expected placements, waiting job ids
    ("a job in backoff waits", [job(1, not_before=NOW + 1)], [], [1]),
    ("its backoff ends at now", [job(1, not_before=NOW)], [(1, "vm1")], []),
    ("it does not block a lower priority", [job(1, cpus=2, priority=5, not_before=NOW + 30), job(2, cpus=2)],
     [(2, "vm1")], [1]),
    ("nor reserve room", [job(1, priority=5, not_before=NOW + 30), job(2), job(3)], [(2, "vm1"), (3, "vm1")], [1]),
]


@pytest.mark.parametrize("queue, expected, waits", [c[1:] for c in BACKOFF_CASES], ids=[c[0] for c in BACKOFF_CASES])
def test_backoff_waits_without_blocking(queue, expected, waits):
    result = schedule(queue, [host("vm1")], NOW)
    assert [(p.job_id, p.host) for p in result.placed] == expected
    assert [w.job_id for w in result.waiting] == waits
    assert all(w.cause == "backoff" for w in result.waiting)


BACKFILL_CASES = [
    # id, hosts, queue, expected placements
    ("lower priority never backfills past a waiting higher one", [host("vm1", used=1)],
     [job(1, cpus=2, priority=5), job(2, cpus=1, priority=1)], []),
    ("not even far down the queue", [host("vm1", used=1), host("vm2", used=1)],
     [job(1, cpus=2, priority=5), job(2, cpus=1, priority=5), job(3, cpus=0.5, priority=0)], [(2, "vm1")]),
    ("equal priority backfills", [host("vm1", used=1)], [job(1, cpus=2, priority=5), job(2, cpus=1, priority=5)],
     [(2, "vm1")]),
    ("a lower priority may use a host the waiting job cannot use",
     [host("vm1", used=1, labels={"zone": "a"}), host("vm2")],
     [job(1, cpus=2, priority=5, rules=("zone==a",)), job(2, priority=1)], [(2, "vm2")]),
    ("but not one it could use", [host("vm1", used=1, labels={"zone": "a"}), host("vm2", cpus=8, used=7)],
     [job(1, cpus=2, priority=5), job(2, priority=1)], []),
    ("a job no host can ever hold blocks nobody", [host("vm1")], [job(1, cpus=4, priority=5), job(2, priority=1)],
     [(2, "vm1")]),
    ("nor one whose constraints no host satisfies", [host("vm1")],
     [job(1, priority=5, rules=("zone==x",)), job(2, priority=1)], [(2, "vm1")]),
    ("a held job holds its hosts in turn", [host("vm1", used=1), host("vm2", used=1)],
     [job(1, cpus=2, priority=5, rules=("zone!=b",)), job(2, cpus=2, priority=3), job(3, priority=1)], []),
    ("higher priorities placed first are not blocked", [host("vm1", cpus=4, used=1)],
     [job(1, priority=9), job(2, cpus=4, priority=5), job(3, priority=1)], [(1, "vm1")]),
]


@pytest.mark.parametrize("rooms, queue, expected", [c[1:] for c in BACKFILL_CASES], ids=[c[0] for c in BACKFILL_CASES])
def test_backfill_never_starves_a_higher_priority(rooms, queue, expected):
    assert placed(queue, rooms) == expected


WAITING_CASES = [
    # id, hosts, queue, the waiting job's cause and reason
    ("backoff", [host("vm1")], [job(1, not_before=NOW + 25)], "backoff", "backoff: next try in 25s"),
    ("short backoff", [host("vm1")], [job(1, not_before=NOW + 0.01)], "backoff", "backoff: next try in 0.1s"),
    ("CPUs", [host("vm1", used=1), host("vm2", used=1.5)], [job(1, cpus=2)], "room",
     "no host has 2 CPUs free (most free: vm1 1 CPU)"),
    ("CPUs after earlier reservations", [host("vm1", cpus=1)], [job(1, cpus=0.75), job(2, cpus=0.5)], "room",
     "no host has 0.5 CPUs free (most free: vm1 0.25 CPUs)"),
    ("memory", [host("vm1", memory=2 * G, used_memory=G + G // 2), host("vm2", memory=G, used_memory=0)],
     [job(1, memory=2 * G)], "room", "no host has 2G memory free (most free: vm2 1G)"),
    ("CPUs and memory on different hosts", [host("vm1", memory=512 * M), host("vm2", used=1.5, memory=4 * G)],
     [job(1, memory=G)], "room", "no host has 1 CPU and 1G memory free at once (most CPUs: vm1 2 CPUs with 512M)"),
    ("too many CPUs for any host", [host("vm1"), host("vm2", cpus=4, labels={"zone": "b"})],
     [job(1, cpus=3, rules=("zone!=b",))], "too-big", "no host has 3 CPUs in total (largest: vm1 2 CPUs)"),
    ("too much memory for any host", [host("vm1", memory=G + G // 2)], [job(1, memory=2 * G)], "too-big",
     "no host has 2G memory in total (largest: vm1 1.5G)"),
    ("constraints", [host("vm1")], [job(1, rules=("zone==a", "role!=lb"))], "constraints",
     "no host satisfies zone==a, role!=lb"),
    ("no host at all", [], [job(1)], "constraints", "no host to run on"),
    ("held", [host("vm1", used=1)], [job(7, cpus=2, priority=5), job(8, priority=1)], "held",
     "held for job 7 (priority 5), which waits for room on vm1"),
]


@pytest.mark.parametrize("rooms, queue, cause, reason", [c[1:] for c in WAITING_CASES],
                         ids=[c[0] for c in WAITING_CASES])
def test_each_waiting_job_says_why_in_one_line(rooms, queue, cause, reason):
    last = schedule(queue, rooms, NOW).waiting[-1]
    assert last == Waiting(queue[-1].id, reason, cause)


def test_placements_say_how_much_is_left():
    [placement] = place([job(1, memory=G)], [host("vm1", cpus=4, used=1, memory=4 * G, used_memory=G // 2)], NOW)
    assert placement == Placement(1, "vm1", "most free: 2 CPUs of 4 CPUs left, 2.5G of 4G memory")


EPSILON_CASES = [
    # id, host CPUs, job CPUs, how many, placed
    ("three tenths fill three tenths", 0.3, 0.1, 3, 3),
    ("a fourth does not fit", 0.3, 0.1, 4, 3),
    ("seven tenths of a CPU", 0.7, 0.1, 8, 7),
    ("thirds", 1.0, 1 / 3, 4, 3),
]


@pytest.mark.parametrize("capacity, cpus, count, expected", [c[1:] for c in EPSILON_CASES],
                         ids=[c[0] for c in EPSILON_CASES])
def test_float_sums_do_not_refuse_a_job_that_fits(capacity, cpus, count, expected):
    assert len(place([job(i, cpus=cpus) for i in range(count)], [host("vm1", cpus=capacity)], NOW)) == expected


def test_place_is_the_placements_of_schedule():
    rooms, queue = [host("vm1"), host("vm2", used=1)], [job(1), job(2, cpus=2), job(3)]
    assert place(queue, rooms, NOW) == list(schedule(queue, rooms, NOW).placed)
    assert len(place(queue, rooms, NOW)) == 2


@pytest.mark.parametrize("seed", range(30))
def test_random_queues_never_overfill_a_host_nor_let_a_lower_priority_pass(seed):
    rng = random.Random(seed)
    rooms = [host(f"vm{i}", cpus=rng.choice([1, 2, 4]), used=rng.choice([0, 0.5, 1]),
                  memory=rng.choice([None, 2 * G]), used_memory=rng.choice([0, G])) for i in range(3)]
    queue = [job(i, cpus=rng.choice([0.1, 0.5, 1, 2, 3]), priority=rng.randint(0, 2),
                 memory=rng.choice([None, G // 2, G])) for i in range(12)]
    result = schedule(queue, rooms, NOW)
    jobs, room_of = {j.id: j for j in queue}, {r.name: r for r in rooms}
    for room in rooms:
        mine = [jobs[p.job_id] for p in result.placed if p.host == room.name]
        assert sum(j.cpus for j in mine) <= room.free_cpus + 1e-9
        assert room.memory is None or sum(j.memory or 0 for j in mine) <= room.free_memory
    waiting_for_room = [jobs[w.job_id] for w in result.waiting if w.cause in ("room", "held")]
    for p in result.placed:
        assert not any(w.priority > jobs[p.job_id].priority and room_of[p.host].could_hold(w)
                       for w in waiting_for_room)
    assert len(result.placed) + len(result.waiting) == len(queue)


NEXT_TRY_CASES = [
    # id, attempts made, retries, backoff, cap, next try (None: no retry left)
    ("first retry waits the backoff", 1, 3, 10.0, 300.0, NOW + 10),
    ("second waits twice as long", 2, 3, 10.0, 300.0, NOW + 20),
    ("third four times", 3, 3, 10.0, 300.0, NOW + 40),
    ("retries used up", 4, 3, 10.0, 300.0, None),
    ("no retries", 1, 0, 10.0, 300.0, None),
    ("capped", 6, 10, 10.0, 300.0, NOW + 300),
    ("just under the cap", 5, 10, 10.0, 300.0, NOW + 160),
    ("a custom cap", 3, 10, 10.0, 25.0, NOW + 25),
    ("zero backoff retries at once", 2, 3, 0.0, 300.0, NOW),
    ("huge attempt counts stay at the cap", 5000, 10000, 1.0, 300.0, NOW + 300),
]


@pytest.mark.parametrize("attempts, retries, backoff, cap, expected", [c[1:] for c in NEXT_TRY_CASES],
                         ids=[c[0] for c in NEXT_TRY_CASES])
def test_next_try_backs_off_exponentially(attempts, retries, backoff, cap, expected):
    assert next_try(attempts, retries, backoff, NOW, cap) == expected


def test_next_try_wants_the_attempt_that_ended():
    with pytest.raises(ValueError, match="attempts_made is 0"):
        next_try(0, 3, 10.0, NOW)
