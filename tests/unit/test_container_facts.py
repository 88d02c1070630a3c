"""Parsing what the observe command printed."""

from __future__ import annotations

import pytest

from kob.facts.containers import ContainerFact, HaproxyFact, ObservationError, parse_observation

LABELS = '{"kob.image":"kob-demo/web:1","kob.port":"20001","kob.replica":"2","kob.revision":"7","kob.service":"web","kob.spec":"abcdef1234"}'
RUNNING = "\t".join(["c1", "/kob-web-2-abcdef12", LABELS, "running", "healthy", "sha256:img1",
                     "2026-11-23T09:00:00Z", "0", "0"])
EXITED = "\t".join(["c2", "/kob-web-3-abcdef12", LABELS.replace('"2"', '"3"'), "exited", "", "sha256:img1",
                    "2026-11-23T09:00:01Z", "4", "137"])


def test_parses_containers_and_images():
    output = "\n".join(["#kob-containers", RUNNING, EXITED, "#kob-images",
                        "sha256:img1\tkob-demo/web:1", "sha256:img2\tkob-demo/web:2", ""])
    seen = parse_observation("vm2", output)
    assert seen.containers[0] == ContainerFact(
        id="c1", name="kob-web-2-abcdef12", service="web", replica=2, revision=7, spec_hash="abcdef1234",
        host_port=20001, state="running", health="healthy", image_id="sha256:img1", image="kob-demo/web:1",
        started_at="2026-11-23T09:00:00Z", restarts=0, exit_code=0)
    assert (seen.containers[1].replica, seen.containers[1].health, seen.containers[1].exit_code) == (3, None, 137)
    assert [c.serving for c in seen.containers] == [True, False]
    assert dict(seen.images) == {"kob-demo/web:1": "sha256:img1", "kob-demo/web:2": "sha256:img2"}
    assert seen.has_image("sha256:img2") and not seen.has_image("sha256:img3")
    assert [c.id for c in seen.of_service("web")] == ["c1", "c2"]


def test_an_empty_host():
    seen = parse_observation("vm1", "#kob-containers\n#kob-images\n")
    assert seen.containers == () and dict(seen.images) == {}


@pytest.mark.parametrize("output", ["", "docker: command not found\n", "#kob-containers\nbroken line\n#kob-images\n"])
def test_unreadable_output_names_the_host(output):
    with pytest.raises(ObservationError, match="^vm3: "):
        parse_observation("vm3", output)


@pytest.mark.parametrize("section, expected", [
    (["none", "stopped", "none"], HaproxyFact(None, False, None)),
    (["ab" * 32, "running", "cd" * 32], HaproxyFact("ab" * 32, True, "cd" * 32)),
    (["none", "stopped", "none", "22:sshd 8080:haproxy 8080:haproxy 2375:? "],
     HaproxyFact(None, False, None, ((22, "sshd"), (2375, "?"), (8080, "haproxy")))),
    (["none", "stopped", "none", ""], HaproxyFact(None, False, None, ())),
    (["none", "stopped", "none", "?"], HaproxyFact(None, False, None, None)),
])
def test_the_haproxy_section_of_lb_hosts(section, expected):
    seen = parse_observation("vm1", "\n".join(["#kob-containers", "#kob-images", "#kob-haproxy", *section]) + "\n")
    assert seen.haproxy == expected


def test_a_listening_port_line_that_is_not_one_fails_naming_the_host():
    with pytest.raises(ObservationError, match="^vm1: cannot read listening port 'x:sshd'$"):
        parse_observation("vm1", "#kob-containers\n#kob-images\n#kob-haproxy\nnone\nstopped\nnone\nx:sshd\n")


LISTENING = ((22, "sshd"), (80, "?"), (8080, "haproxy"), (9000, "nginx"))


@pytest.mark.parametrize("port, running, taken_by", [
    (22, True, "sshd"),
    (9000, False, "nginx"),
    (8080, True, None),  # HAProxy itself
    (8080, False, None),
    (80, True, None),  # ss could not tell, and HAProxy runs: maybe it is HAProxy
    (80, False, "?"),  # nothing of kob's runs there
    (443, True, None),
])
def test_which_program_takes_a_port(port, running, taken_by):
    assert HaproxyFact(None, running, None, LISTENING).port_taken_by(port) == taken_by


def test_hosts_without_the_lb_role_have_no_haproxy_section():
    assert parse_observation("vm2", "#kob-containers\n#kob-images\n").haproxy is None


def test_parse_health():
    from kob.facts.containers import parse_health
    output = "abc running healthy\ndef running none\nghi exited none\n\n"
    assert parse_health(output) == {"abc": ("running", "healthy"), "def": ("running", None), "ghi": ("exited", None)}
