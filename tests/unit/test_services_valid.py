"""Valid services: and lb: sections: the dataclasses they produce, defaults, paths and parsing."""

import textwrap
from pathlib import Path

import pytest

from kob.errors import PatternError
from kob.spec.inventory import load_inventory
from kob.spec.service_model import (
    Autoscale, Constraint, Failover, Frontend, HealthCheck, LoadBalancer, Placement, Resources, Route, Service,
    UpdatePolicy, Volume,
)
from tests.helpers.inventory_loading import assert_loads

HOSTS = """\
hosts:
  vm1: {address: 198.18.0.11, roles: [lb], labels: {zone: a}}
  vm2: {address: 198.18.0.12, roles: [worker]}
  vm3: {address: 198.18.0.13, roles: [worker]}
"""

FULL = HOSTS + """\
services:
  web:
    image: kob-demo/web:1
    replicas: 4
    port: 80
    command: [sh, -c, "echo hi", ""]
    env: {GREETING: hello, DEBUG: true, VERSION: 1.10, EMPTY: ''}
    env_file: secrets/web.env
    volumes: ["/srv/data:/data", "cache:/cache:ro", "/srv/logs:/logs/:rw"]
    healthcheck:
      http: /healthz?full=1
      interval: 1500ms
      timeout: 1s
      retries: 5
      start_period: 1m
    resources: {cpus: 0.5, memory: 256m}
    restart: on-failure:3
    placement:
      hosts: worker
      strategy: least-loaded
      constraints: ["zone == a", "role!=lb"]
      max_per_host: 2
    update:
      parallelism: 2
      order: stop-first
      failure_action: pause
      monitor: 0
  api:
    image: registry.example:5000/team/api@sha256:0123abcd
    port: 8080
    command: python -m api --name 'my api'
    healthcheck: {command: test -f /ok}
  worker: {image: busybox, replicas: 0, restart: 'no'}
lb:
  balance: leastconn
  frontends:
    http:
      bind: 80
      default: web
      routes:
        - {host: api.example.com, service: api}
        - {path: /api, service: api}
        - {host: example.com, path: /v2, service: api}
    admin: {bind: 8404, default: api}
"""

MINIMAL = HOSTS + "services:\n  web: {image: nginx}\n"


def web(inventory):
    return inventory.service("web")


# (id, inventory text, what to look at, expected; strings may use {dir} for the inventory's folder)
VALID = [
    # -- defaults --------------------------------------------------------------
    ("no services", HOSTS, lambda inv: (inv.services, inv.lb), ((), None)),
    ("empty services section", HOSTS + "services:\n", lambda inv: inv.services, ()),
    ("defaults", MINIMAL, web, Service(name="web", image="nginx")),
    ("default replicas and restart", MINIMAL,
     lambda inv: (web(inv).replicas, web(inv).restart), (1, "unless-stopped")),
    ("default placement", MINIMAL, lambda inv: web(inv).placement, Placement("all", "spread", (), None)),
    ("default update", MINIMAL, lambda inv: web(inv).update, UpdatePolicy(1, "start-first", "rollback", 5.0)),
    ("no healthcheck, command or env_file", MINIMAL,
     lambda inv: (web(inv).healthcheck, web(inv).command, web(inv).env_file, dict(web(inv).env)),
     (None, None, None, {})),
    ("service line", MINIMAL, lambda inv: web(inv).line, 6),
    ("empty sub-sections read as defaults",
     MINIMAL.replace("{image: nginx}", "{image: nginx, resources: , placement: , update: , env: , volumes: }"),
     lambda inv: (web(inv).resources, web(inv).placement, web(inv).update, web(inv).volumes),
     (Resources(), Placement(), UpdatePolicy(), ())),
    # -- every field -----------------------------------------------------------
    ("services in file order", FULL, lambda inv: [s.name for s in inv.services], ["web", "api", "worker"]),
    ("image, replicas, port", FULL, lambda inv: (web(inv).image, web(inv).replicas, web(inv).port),
     ("kob-demo/web:1", 4, 80)),
    ("command as a list keeps empty words", FULL, lambda inv: web(inv).command, ("sh", "-c", "echo hi", "")),
    ("command string split like a shell", FULL, lambda inv: inv.service("api").command,
     ("python", "-m", "api", "--name", "my api")),
    ("env values as written", FULL, lambda inv: dict(web(inv).env),
     {"GREETING": "hello", "DEBUG": "true", "VERSION": "1.10", "EMPTY": ""}),
    ("env_file from the file's folder", FULL, lambda inv: web(inv).env_file, "{dir}/secrets/web.env"),
    ("volumes", FULL, lambda inv: web(inv).volumes,
     (Volume("/srv/data", "/data"), Volume("cache", "/cache", read_only=True), Volume("/srv/logs", "/logs"))),
    ("http healthcheck", FULL, lambda inv: web(inv).healthcheck,
     HealthCheck(http_path="/healthz?full=1", interval=1.5, timeout=1.0, retries=5, start_period=60.0)),
    ("command healthcheck with defaults", FULL, lambda inv: inv.service("api").healthcheck,
     HealthCheck(command=("test", "-f", "/ok"))),
    ("resources", FULL, lambda inv: web(inv).resources, Resources(cpus=0.5, memory=256 * 1024**2)),
    ("restart on-failure:N", FULL, lambda inv: web(inv).restart, "on-failure:3"),
    ("restart no as written", FULL, lambda inv: inv.service("worker").restart, "no"),
    ("zero replicas", FULL, lambda inv: inv.service("worker").replicas, 0),
    ("placement", FULL, lambda inv: web(inv).placement,
     Placement("worker", "least-loaded", (Constraint("zone", True, "a"), Constraint("role", False, "lb")), 2)),
    ("update", FULL, lambda inv: web(inv).update, UpdatePolicy(2, "stop-first", "pause", 0.0)),
    ("image with a registry port and digest", FULL, lambda inv: inv.service("api").image,
     "registry.example:5000/team/api@sha256:0123abcd"),
    # -- memory sizes ----------------------------------------------------------
    *[
        (f"memory {text}", MINIMAL.replace("{image: nginx}", f"{{image: nginx, resources: {{memory: {text}}}}}"),
         lambda inv: web(inv).resources.memory, size)
        for text, size in [
            ("6291456", 6 * 1024**2), ("7340032b", 7 * 1024**2), ("8192k", 8 * 1024**2), ("512m", 512 * 1024**2),
            ("1g", 1024**3), ("2G", 2 * 1024**3), ("'64M'", 64 * 1024**2),
        ]
    ],
    # -- lb --------------------------------------------------------------------
    ("lb", FULL, lambda inv: inv.lb, LoadBalancer("lb", "leastconn", (
        Frontend("http", 80, (
            Route("api", host="api.example.com"),
            Route("api", path_prefix="/api"),
            Route("api", host="example.com", path_prefix="/v2"),
        ), default_service="web"),
        Frontend("admin", 8404, default_service="api"),
    ))),
    ("lb defaults", MINIMAL.replace("nginx}", "nginx, port: 80}")
     + "lb:\n  frontends:\n    http: {bind: 80, default: web}\n",
     lambda inv: (inv.lb.hosts, inv.lb.balance, inv.lb.failover), ("lb", "roundrobin", Failover(
         retries=3, retry_methods=("GET", "HEAD", "OPTIONS"), connect_timeout=1.0, check_interval=2.0, check_fall=2,
         check_rise=2))),
    ("lb failover", MINIMAL.replace("nginx}", "nginx, port: 80}")
     + "lb:\n  retries: 0\n  retry_methods: [PUT, GET, PUT]\n  connect_timeout: 250ms\n"
       "  checks: {interval: 1s, fall: 3, rise: 1}\n  frontends:\n    http: {bind: 80, default: web}\n",
     lambda inv: inv.lb.failover, Failover(0, ("PUT", "GET"), 0.25, 1.0, 3, 1)),
    ("lb checks in part, and no retried request", MINIMAL.replace("nginx}", "nginx, port: 80}")
     + "lb:\n  retry_methods: []\n  checks: {rise: 3}\n  frontends:\n    http: {bind: 80, default: web}\n",
     lambda inv: inv.lb.failover, Failover(retry_methods=(), check_rise=3)),
    ("lb on a named pattern", MINIMAL.replace("nginx}", "nginx, port: 80}")
     + "lb:\n  hosts: 'worker:!vm3'\n  frontends:\n    http: {bind: 80, default: web}\n",
     lambda inv: inv.lb.hosts, "worker:!vm3"),
    ("lb routes only", MINIMAL.replace("nginx}", "nginx, port: 80}")
     + "lb:\n  frontends:\n    http:\n      bind: 80\n      routes: [{path: /, service: web}]\n",
     lambda inv: inv.lb.frontends, (Frontend("http", 80, (Route("web", path_prefix="/"),)),)),
    # -- autoscale -------------------------------------------------------------
    ("autoscale starts at min", MINIMAL.replace("nginx}", "nginx, autoscale: {min: 2, max: 5, cpu: 60}}"),
     lambda inv: (inv.service("web").replicas, inv.service("web").autoscale),
     (2, Autoscale(min=2, max=5, cpu=60.0))),
    ("autoscale in full", MINIMAL.replace("nginx}", "nginx, replicas: 3, resources: {memory: 64m}, autoscale: "
                                          "{min: 1, max: 8, cpu: 50, memory: 70, tolerance: 0.2, "
                                          "scale_up_window: 30s, scale_down_window: 2m, max_step: 2}}"),
     lambda inv: (inv.service("web").replicas, inv.service("web").autoscale),
     (3, Autoscale(min=1, max=8, cpu=50.0, memory=70.0, tolerance=0.2, scale_up_window=30.0,
                   scale_down_window=120.0, max_step=2))),
    # -- YAML conveniences -----------------------------------------------------
    ("merge keys share settings", HOSTS + textwrap.dedent("""\
        services:
          web: &base {image: nginx, replicas: 3, restart: always}
          web2:
            <<: *base
            replicas: 1
        """), lambda inv: (inv.service("web2").image, inv.service("web2").replicas, inv.service("web2").restart),
     ("nginx", 1, "always")),
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The cwd, holding secrets/web.env."""
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "web.env").write_text("PASSWORD=hunter2\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("text, look, expected", [case[1:] for case in VALID], ids=[case[0] for case in VALID])
def test_valid_services(folder, text, look, expected):
    assert_loads(folder, text, look, expected)


def test_case_ids_are_unique():
    ids = [case[0] for case in VALID]
    assert len(ids) == len(set(ids))


def test_env_file_is_resolved_from_the_inventory_folder_but_not_read(folder):
    (folder / "site" / "secrets").mkdir(parents=True)
    (folder / "site" / "secrets" / "web.env").write_bytes(b"\xff\xfe not = an env file\x00\n")
    (folder / "site" / "prod.yaml").write_text(MINIMAL.replace("nginx}", "nginx, env_file: secrets/web.env}"))
    service = load_inventory("site/prod.yaml").service("web")
    assert service.env_file == folder / "site" / "secrets" / "web.env"
    assert service.env_file.is_absolute()


def test_unknown_service_lookup(folder):
    (folder / "inventory.yaml").write_text(FULL)
    with pytest.raises(PatternError, match=r"^no service named 'wbe' in inventory\.yaml; did you mean 'web'\?$"):
        load_inventory("inventory.yaml").service("wbe")


def test_model_is_frozen_and_hashable(folder):
    (folder / "inventory.yaml").write_text(FULL)
    inventory = load_inventory("inventory.yaml")
    service = inventory.service("web")
    with pytest.raises(AttributeError):
        service.replicas = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        service.env["GREETING"] = "bye"  # type: ignore[index]
    assert hash(inventory) == hash(load_inventory("inventory.yaml"))
    assert inventory == load_inventory("inventory.yaml")


def test_service_names_may_repeat_host_and_group_names(folder):
    (folder / "inventory.yaml").write_text(HOSTS + "services:\n  vm1: {image: nginx}\n  lb: {image: haproxy}\n")
    assert [s.name for s in load_inventory("inventory.yaml").services] == ["vm1", "lb"]


def test_secrets_never_enter_the_model(folder):
    (folder / "inventory.yaml").write_text(FULL)
    assert "hunter2" not in repr(load_inventory("inventory.yaml"))


def test_env_file_path_is_absolute_even_for_a_relative_inventory(folder):
    (folder / "inventory.yaml").write_text(FULL)
    assert load_inventory(Path("inventory.yaml")).service("web").env_file == folder / "secrets" / "web.env"
