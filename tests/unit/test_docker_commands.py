"""Docker command builders: argv in, argv out (no SSH, no Docker)."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from kob.commands.docker import Replica, docker_reason, observe_argv, remove_argv, run_argv
from kob.spec.service_model import HealthCheck, Resources, Service, Volume

BASE = ["docker", "run", "-d", "--name", "kob-shop-0a1b2c3d-web-2-abcdef12", "--label",
        "kob.inventory=shop-0a1b2c3d", "--label", "kob.service=web", "--label",
        "kob.replica=2", "--label", "kob.revision=7", "--label", "kob.spec=abcdef1234", "--label",
        "kob.image=kob-demo/web:1", "--label", "kob.port=20001",
        "--restart", "unless-stopped", "-p", "20001:80", "-e", "KOB_SERVICE=web", "-e", "KOB_REPLICA=2",
        "-e", "KOB_HOST=vm2"]


def replica(**service_fields) -> Replica:
    service = Service(name="web", image="kob-demo/web:1", port=80, **service_fields)
    return Replica(service, replica=2, revision=7, spec_hash="abcdef1234", host="vm2", host_port=20001,
                   owner="shop-0a1b2c3d")


@pytest.mark.parametrize("fields, tail", [
    ({}, ["kob-demo/web:1"]),
    ({"env": MappingProxyType({"GREETING": "hello world"})}, ["-e", "GREETING=hello world", "kob-demo/web:1"]),
    ({"command": ("sh", "-c", "echo $HOME; rm -rf /")}, ["kob-demo/web:1", "sh", "-c", "echo $HOME; rm -rf /"]),
    ({"resources": Resources(cpus=0.5, memory=268435456)},
     ["--cpus", "0.5", "--memory", "268435456", "kob-demo/web:1"]),
    ({"volumes": (Volume("/srv/data", "/data"), Volume("cache", "/cache", read_only=True))},
     ["-v", "/srv/data:/data", "-v", "cache:/cache:ro", "kob-demo/web:1"]),
    ({"healthcheck": HealthCheck(http_path="/healthz", interval=1.5, timeout=2, retries=4, start_period=0)},
     ["--health-cmd", "wget -q -O /dev/null http://127.0.0.1:80/healthz || curl -fsS -o /dev/null "
      "http://127.0.0.1:80/healthz", "--health-interval", "1500ms", "--health-timeout", "2000ms",
      "--health-retries", "4", "--health-start-period", "0ms", "kob-demo/web:1"]),
    ({"healthcheck": HealthCheck(command=("test", "-f", "/tmp/it's ok"))},
     ["--health-cmd", "test -f '/tmp/it'\"'\"'s ok'", "--health-interval", "2000ms", "--health-timeout", "2000ms",
      "--health-retries", "3", "--health-start-period", "0ms", "kob-demo/web:1"]),
])
def test_run_argv(fields, tail):
    assert run_argv(replica(**fields)) == BASE + tail


def test_secrets_come_on_stdin_not_in_argv():
    argv = run_argv(replica(), env_from_stdin=True)
    assert argv[len(BASE):] == ["--env-file", "/dev/stdin", "kob-demo/web:1"]


def test_secrets_are_asked_for_by_keyword_only():
    with pytest.raises(TypeError):
        run_argv(replica(), ("TOKEN",))  # no list of env names: their values come on stdin, never their names


def test_restart_policy_and_no_port_without_a_container_port():
    service = Service(name="worker", image="busybox", restart="on-failure:3")
    argv = run_argv(Replica(service, 1, 1, "0123456789", "vm1", None, "shop-0a1b2c3d"))
    assert argv[:15] == ["docker", "run", "-d", "--name", "kob-shop-0a1b2c3d-worker-1-01234567", "--label",
                         "kob.inventory=shop-0a1b2c3d", "--label", "kob.service=worker",
                         "--label", "kob.replica=1", "--label", "kob.revision=1", "--label", "kob.spec=0123456789"]
    assert "-p" not in argv and argv[argv.index("--restart") + 1] == "on-failure:3"


def test_observe_never_uses_docker_stats_or_size():
    script = observe_argv()[2]
    assert "stats" not in script and ".Size" not in script
    assert observe_argv()[:2] == ["sh", "-c"]


@pytest.mark.parametrize("output, reason", [
    ("docker: Error response from daemon: Conflict. The container name is in use.\n"
     "Run 'docker run --help' for more information\n", "Conflict. The container name is in use."),
    ("Unable to find image 'x:1' locally\ndocker: Error response from daemon: pull access denied for x.\n"
     "See 'docker run --help'.\n", "pull access denied for x."),
    ("", "docker printed no reason"),
])
def test_docker_reason_is_its_last_words(output, reason):
    assert docker_reason(output) == reason


def test_remove_passes_ids_as_arguments():
    assert remove_argv(["a1", "b2"], stop_timeout=5) == [
        "sh", "-c", 'docker stop -t "$0" "$@" >/dev/null; docker rm -f "$@" >/dev/null', "5", "a1", "b2"]


@pytest.mark.parametrize("kwargs, expected", [
    ({}, ["docker", "logs", "--timestamps", "c1"]),
    ({"tail": 10, "since": "10m", "follow": True},
     ["docker", "logs", "--timestamps", "--tail", "10", "--since", "10m", "--follow", "c1"]),
])
def test_logs_argv(kwargs, expected):
    from kob.commands.docker import logs_argv
    assert logs_argv("c1", **kwargs) == expected


def test_service_logs_argv_passes_container_ids_as_arguments():
    from kob.commands.docker import service_logs_argv
    argv = service_logs_argv(["c1", "c2"], tail=5, since="10m")
    assert argv[:2] == ["sh", "-c"] and argv[3:] == ["kob-logs", "c1", "c2"]
    assert 'docker logs --timestamps --tail 5 --since 10m "$id" 2>&1' in argv[2]


def test_service_logs_argv_quotes_since():
    from kob.commands.docker import service_logs_argv
    assert "--since '10m; touch /tmp/x'" in service_logs_argv(["c1"], since="10m; touch /tmp/x")[2]


@pytest.mark.parametrize("output, expected", [
    ("c1 2026-11-23T10:00:00.5Z hello world\n", [("c1", "2026-11-23T10:00:00.5Z", "hello world")]),
    ("c1 2026-11-23T10:00:00Z \n", [("c1", "2026-11-23T10:00:00Z", "")]),
    ("c2 Error response from daemon: x\n", [("c2", "", "Error response from daemon: x")]),
])
def test_parse_log_lines(output, expected):
    from kob.facts.containers import parse_log_lines
    assert [(line.container_id, line.timestamp, line.text) for line in parse_log_lines(output)] == expected


def test_log_lines_sort_by_time_although_docker_trims_zeros():
    from kob.facts.containers import parse_log_lines
    lines = parse_log_lines("a 2026-11-23T10:00:00.12Z late\nb 2026-11-23T10:00:00.123456789Z later\n"
                            "c 2026-11-23T10:00:00.1Z early\n")
    assert [line.text for line in sorted(lines, key=lambda line: line.sort_key)] == ["early", "late", "later"]
