"""Parsing what the observe command printed."""

from __future__ import annotations

import pytest

from kob.facts.containers import ContainerFact, HaproxyFact, ObservationError, parse_observation

OWNER = "shop-0a1b2c3d"
LABELS = ('{"kob.image":"kob-demo/web:1","kob.inventory":"shop-0a1b2c3d","kob.port":"20001","kob.replica":"2",'
          '"kob.revision":"7","kob.service":"web","kob.spec":"abcdef1234"}')
RUNNING = "\t".join(["c1", "/kob-shop-0a1b2c3d-web-2-abcdef12", LABELS, "running", "healthy", "sha256:img1",
                     "2026-11-23T09:00:00Z", "0", "0"])
EXITED = "\t".join(["c2", "/kob-shop-0a1b2c3d-web-3-abcdef12", LABELS.replace('"2"', '"3"'), "exited", "",
                    "sha256:img1", "2026-11-23T09:00:01Z", "4", "137"])
OTHERS = "\t".join(["c3", "/kob-blog-99887766-web-1-abcdef12", LABELS.replace(OWNER, "blog-99887766"), "running", "",
                    "sha256:img1", "2026-11-23T09:00:02Z", "0", "0"])
EARLIER = "\t".join(["c4", "/kob-web-1-abcdef12", LABELS.replace(f'"kob.inventory":"{OWNER}",', ""), "running", "",
                     "sha256:img1", "2026-11-23T09:00:03Z", "0", "0"])


def observed(containers=(), images=(), ports=(), haproxy=None, host="vm1", owner=OWNER):
    sections = ["#kob-containers", *containers, "#kob-images", *images, "#kob-ports", *ports]
    if haproxy is not None:
        sections += ["#kob-haproxy", *haproxy]
    return parse_observation(host, "\n".join(sections) + "\n", owner)


def test_parses_containers_and_images():
    seen = observed([RUNNING, EXITED], ["sha256:img1\tkob-demo/web:1", "sha256:img2\tkob-demo/web:2"], host="vm2")
    assert seen.containers[0] == ContainerFact(
        id="c1", name="kob-shop-0a1b2c3d-web-2-abcdef12", service="web", replica=2, revision=7,
        spec_hash="abcdef1234", host_port=20001, state="running", health="healthy", image_id="sha256:img1",
        image="kob-demo/web:1", started_at="2026-11-23T09:00:00Z", restarts=0, exit_code=0, owner=OWNER)
    assert (seen.containers[1].replica, seen.containers[1].health, seen.containers[1].exit_code) == (3, None, 137)
    assert [c.serving for c in seen.containers] == [True, False]
    assert dict(seen.images) == {"kob-demo/web:1": "sha256:img1", "kob-demo/web:2": "sha256:img2"}
    assert seen.has_image("sha256:img2") and not seen.has_image("sha256:img3")
    assert [c.id for c in seen.of_service("web")] == ["c1", "c2"]


def test_only_the_owners_containers_are_its_own():
    seen = observed([RUNNING, OTHERS, EARLIER])
    assert [c.id for c in seen.containers] == ["c1"]
    assert [c.id for c in seen.legacy] == ["c4"]  # an earlier kob's: kept apart, never touched
    assert [c.id for c in observed([RUNNING, OTHERS, EARLIER], owner="blog-99887766").containers] == ["c3"]
    assert observed([RUNNING, OTHERS], owner="nobody-00000000").containers == ()


@pytest.mark.parametrize("lines, busy", [
    ([], set()),
    ([f"{OWNER}\t0.0.0.0:20001->80/tcp, :::20001->80/tcp"], set()),  # its own
    (["blog-99887766\t0.0.0.0:20001->80/tcp, :::20001->80/tcp"], {20001}),
    (["\t0.0.0.0:8080->80/tcp", "\t", "\t127.0.0.1:20005-20007->5000-5002/tcp"], {8080, 20005, 20006, 20007}),
    (["\t80/tcp"], set()),  # exposed, not published
])
def test_ports_other_containers_publish_are_busy(lines, busy):
    assert observed(ports=lines).busy_ports == busy


def test_an_empty_host():
    seen = observed()
    assert seen.containers == () and dict(seen.images) == {} and seen.busy_ports == frozenset()


@pytest.mark.parametrize("output", ["", "docker: command not found\n", "#kob-containers\nbroken line\n#kob-images\n",
                                    "#kob-containers\n#kob-images\n"])
def test_unreadable_output_names_the_host(output):
    with pytest.raises(ObservationError, match="^vm3: "):
        parse_observation("vm3", output, OWNER)


@pytest.mark.parametrize("section, expected", [
    (["none", "stopped", "none"], HaproxyFact(None, False, None)),
    (["ab" * 32, "running", "cd" * 32], HaproxyFact("ab" * 32, True, "cd" * 32)),
    (["none", "stopped", "none", "22:sshd 8080:haproxy 8080:haproxy 2375:? "],
     HaproxyFact(None, False, None, ((22, "sshd"), (2375, "?"), (8080, "haproxy")))),
    (["none", "stopped", "none", ""], HaproxyFact(None, False, None, ())),
    (["none", "stopped", "none", "?"], HaproxyFact(None, False, None, None)),
    (["none", "stopped", "none", "?", "-"], HaproxyFact(None, False, None, None, ())),
    (["none", "stopped", "none", "?", "kob-blog-99887766.cfg:80,443 haproxy.cfg: -"],
     HaproxyFact(None, False, None, None, (("kob-blog-99887766.cfg", (80, 443)), ("haproxy.cfg", ())))),
])
def test_the_haproxy_section_of_lb_hosts(section, expected):
    assert observed(haproxy=section).haproxy == expected


@pytest.mark.parametrize("section, message", [
    (["none", "stopped", "none", "x:sshd"], "^vm1: cannot read listening port 'x:sshd'$"),
    (["none", "stopped", "none", "", "kob-x.cfg:80,http -"], "^vm1: cannot read another load balancer's ports"),
])
def test_a_haproxy_line_that_is_not_one_fails_naming_the_host(section, message):
    with pytest.raises(ObservationError, match=message):
        observed(haproxy=section)


LISTENING = ((22, "sshd"), (80, "?"), (8080, "haproxy"), (9000, "nginx"))
OTHER_BALANCERS = (("kob-blog-99887766.cfg", (8081,)), ("haproxy.cfg", (8082,)))


@pytest.mark.parametrize("port, running, taken_by", [
    (22, True, "sshd"),
    (9000, False, "nginx"),
    (8080, True, None),  # HAProxy itself
    (8080, False, "an HAProxy kob did not start for this inventory"),
    (80, True, None),  # ss could not tell, and HAProxy runs: maybe it is HAProxy
    (80, False, "?"),  # nothing of kob's runs there
    (443, True, None),
    (8081, True, "the load balancer of inventory blog-99887766"),
    (8082, True, "the load balancer of an earlier kob (haproxy.cfg; `kob adopt INVENTORY` takes it over)"),
])
def test_which_program_takes_a_port(port, running, taken_by):
    assert HaproxyFact(None, running, None, LISTENING, OTHER_BALANCERS).port_taken_by(port) == taken_by


def test_hosts_without_the_lb_role_have_no_haproxy_section():
    assert observed().haproxy is None


def test_parse_health():
    from kob.facts.containers import parse_health
    output = "abc running healthy\ndef running none\nghi exited none\n\n"
    assert parse_health(output) == {"abc": ("running", "healthy"), "def": ("running", None), "ghi": ("exited", None)}
