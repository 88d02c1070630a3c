"""`kob import compose`: Compose files in the shapes public projects use, each imported inventory loaded by
kob's own loader and checked field by field; the notes (with their lines) for what kob lacks; hostile input
refused in one line."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from kob.cli.main import cli
from kob.errors import SpecError
from kob.spec.compose import check_loads, import_compose

# -- helpers ---------------------------------------------------------------------------------------------


def imported(tmp_path: Path, compose: str, environ: dict | None = None, hosts_from: Path | None = None,
             files: dict[str, str] | None = None):
    """(inventory as kob loads it, the import's result) of ``compose`` written at tmp_path/compose.yaml."""
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    path = tmp_path / "compose.yaml"
    path.write_text(compose)
    out = tmp_path / "out" / "inventory.yaml"
    out.parent.mkdir(exist_ok=True)
    result = import_compose(path, output=out, environ=environ or {}, hosts_from=hosts_from)
    for name, text in result.env_files.items():
        (out.parent / name).write_text(text)
    return check_loads(result.text, out), result


def service(inventory, name):
    return next(s for s in inventory.services if s.name == name)


def field(service, dotted: str):
    value = service
    for part in dotted.split("."):
        value = getattr(value, part)
    return dict(value) if part == "env" else value


def frontends(inventory) -> dict[str, tuple[int, str]]:
    return {f.name: (f.bind, f.default_service) for f in inventory.lb.frontends} if inventory.lb else {}


# -- shapes of public projects -----------------------------------------------------------------------------

WORDPRESS = """\
services:
  db:
    image: mysql:8.0
    restart: always
    environment:
      MYSQL_DATABASE: wordpress
      MYSQL_USER: wordpress
      MYSQL_PASSWORD: ${WP_DB_PASSWORD:-changeme}
      MYSQL_RANDOM_ROOT_PASSWORD: '1'
    volumes:
      - db_data:/var/lib/mysql
  wordpress:
    image: wordpress:6-apache
    depends_on: [db]
    ports:
      - "8000:80"
    restart: always
    environment:
      WORDPRESS_DB_HOST: db:3306
      WORDPRESS_DB_USER: wordpress
      WORDPRESS_DB_PASSWORD: ${WP_DB_PASSWORD:-changeme}
      WORDPRESS_DB_NAME: wordpress
    volumes: [wp_data:/var/www/html]
volumes:
  db_data: {}
  wp_data: {}
"""

SWARM_STACK = """\
version: "3.9"
services:
  api:
    image: registry.example.com:5000/team/api:2.4.1
    command: ["gunicorn", "-b", "0.0.0.0:8000", "app:wsgi"]
    ports:
      - target: 8000
        published: 80
        protocol: tcp
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/health"]
      interval: 10s
      timeout: 2s
      retries: 5
      start_period: 1m30s
    deploy:
      replicas: 4
      resources:
        limits: {cpus: '0.25', memory: 128M}
      update_config:
        parallelism: 2
        order: start-first
        failure_action: pause
        monitor: 30s
      restart_policy: {condition: on-failure, max_attempts: 3}
      placement:
        constraints: ["node.labels.zone == b", "node.labels.disk!=hdd"]
        max_replicas_per_node: 2
"""

HEALTH_FORMS = """\
services:
  shell-string:
    image: nginx:1.27-alpine
    ports: ["8081:80"]
    healthcheck:
      test: curl -fsS http://localhost/ || exit 1
      interval: 1m
  shell-list:
    image: redis:7
    healthcheck:
      test: ["CMD-SHELL", "redis-cli ping | grep PONG"]
      timeout: 500ms
  none:
    image: busybox:1.36
    healthcheck: {test: [NONE]}
  disabled:
    image: busybox:1.36
    healthcheck: {disable: true}
"""

COMMANDS = """\
services:
  py:
    image: python:3.12-slim
    command: python -m http.server 8000 --bind "0.0.0.0"
    expose: ["8000"]
  worker:
    image: python:3.12-slim
    entrypoint: /usr/local/bin/start.sh
    command: [celery, -A, proj, worker, --loglevel=info]
  shell:
    image: alpine:3.20
    entrypoint: ["/bin/sh", "-c"]
    command: ["echo started && sleep 3600"]
"""

LONG_SYNTAX = """\
services:
  static:
    image: caddy:2
    ports:
      - {target: 80, published: "8082"}
    env_file:
      - path: ./optional.env
        required: false
      - ./static.env
    volumes:
      - type: bind
        source: /srv/site
        target: /usr/share/caddy
        read_only: true
      - type: volume
        source: caddy_data
        target: /data
"""

LEGACY = """\
version: '2.4'
services:
  app:
    image: node:20-alpine
    command: node server.js
    working_dir: /app
    scale: 3
    mem_limit: 256m
    cpus: 0.5
    ports: ["3000:3000"]
    environment:
      - NODE_ENV=production
      - PORT=3000
      - HOME
"""

GLOBAL = """\
services:
  node-exporter:
    image: prom/node-exporter:v1.8.1
    deploy:
      mode: global
    volumes: ["/proc:/host/proc:ro", "/sys:/host/sys:ro"]
"""

INTERPOLATED = """\
services:
  app:
    image: ${REGISTRY}/app:${TAG:-latest}
    environment:
      LOG_LEVEL: ${LOG_LEVEL-info}
      PRICE: $$5
      MISSING: ${NOT_SET}
      DEBUG: ${DEBUG:+on}
    ports: ["${HTTP_PORT:-8083}:8080"]
"""

SHAPES = [
    ("wordpress", WORDPRESS, {}, {
        "db": {"image": "mysql:8.0", "port": None, "restart": "always",
               "env": {"MYSQL_DATABASE": "wordpress", "MYSQL_USER": "wordpress"},
               "volumes": (("db_data", "/var/lib/mysql", False),)},
        "wordpress": {"image": "wordpress:6-apache", "port": 80, "restart": "always", "replicas": 1,
                      "env": {"WORDPRESS_DB_HOST": "db:3306", "WORDPRESS_DB_USER": "wordpress",
                              "WORDPRESS_DB_NAME": "wordpress"},
                      "volumes": (("wp_data", "/var/www/html", False),)},
    }, {"wordpress": (8000, "wordpress")},
        {"wordpress.env": "WORDPRESS_DB_PASSWORD=changeme\n", "db.env": "MYSQL_PASSWORD=changeme\nMYSQL_RANDOM_ROOT_PASSWORD=1\n"}),
    ("swarm-stack", SWARM_STACK, {}, {
        "api": {"image": "registry.example.com:5000/team/api:2.4.1", "port": 8000, "replicas": 4,
                "command": ("gunicorn", "-b", "0.0.0.0:8000", "app:wsgi"),
                "healthcheck.command": ("wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/health"),
                "healthcheck.http_path": None, "healthcheck.interval": 10.0, "healthcheck.timeout": 2.0,
                "healthcheck.retries": 5, "healthcheck.start_period": 90.0,
                "resources.cpus": 0.25, "resources.memory": 128 << 20,
                "update.parallelism": 2, "update.order": "start-first", "update.failure_action": "pause",
                "update.monitor": 30.0, "restart": "on-failure:3",
                "placement.constraints": (("zone", True, "b"), ("disk", False, "hdd")),
                "placement.max_per_host": 2},
    }, {"api": (80, "api")}, {}),
    ("healthcheck-forms", HEALTH_FORMS, {}, {
        "shell-string": {"healthcheck.command": ("sh", "-c", "curl -fsS http://localhost/ || exit 1"),
                         "healthcheck.interval": 60.0, "healthcheck.timeout": 2.0, "port": 80},
        "shell-list": {"healthcheck.command": ("sh", "-c", "redis-cli ping | grep PONG"),
                       "healthcheck.timeout": 0.5},
        "none": {"healthcheck": None},
        "disabled": {"healthcheck": None},
    }, {"shell-string": (8081, "shell-string")}, {}),
    ("commands", COMMANDS, {}, {
        "py": {"command": ("python", "-m", "http.server", "8000", "--bind", "0.0.0.0"), "port": 8000},
        "worker": {"command": ("/usr/local/bin/start.sh", "celery", "-A", "proj", "worker", "--loglevel=info"),
                   "port": None},
        "shell": {"command": ("/bin/sh", "-c", "echo started && sleep 3600")},
    }, {}, {}),
    ("long-syntax", LONG_SYNTAX, {}, {
        "static": {"image": "caddy:2", "port": 80,
                   "volumes": (("/srv/site", "/usr/share/caddy", True), ("caddy_data", "/data", False))},
    }, {"static": (8082, "static")}, {}),
    ("legacy-v2", LEGACY, {"HOME": "/home/me"}, {
        "app": {"replicas": 3, "resources.memory": 256 << 20, "resources.cpus": 0.5, "port": 3000,
                "command": ("node", "server.js"),
                "env": {"NODE_ENV": "production", "PORT": "3000", "HOME": "/home/me"}},
    }, {"app": (3000, "app")}, {}),
    ("global-mode", GLOBAL, {}, {
        "node-exporter": {"replicas": 2, "placement.max_per_host": 1,
                          "volumes": (("/proc", "/host/proc", True), ("/sys", "/host/sys", True))},
    }, {}, {}),
    ("interpolated", INTERPOLATED, {"REGISTRY": "ghcr.io/acme", "DEBUG": "1"}, {
        "app": {"image": "ghcr.io/acme/app:latest", "port": 8080,
                "env": {"LOG_LEVEL": "info", "PRICE": "$5", "MISSING": "", "DEBUG": "on"}},
    }, {"app": (8083, "app")}, {}),
]


@pytest.mark.parametrize("compose, environ, expected, lb, env_files",
                         [case[1:] for case in SHAPES], ids=[case[0] for case in SHAPES])
def test_a_compose_file_imports_into_an_inventory_kob_loads(tmp_path, compose, environ, expected, lb, env_files):
    files = {"static.env": "SITE=example\n"}
    inventory, result = imported(tmp_path, compose, environ, files=files)
    assert [s.name for s in inventory.services] == list(expected)
    for name, fields in expected.items():
        got = service(inventory, name)
        for dotted, value in fields.items():
            if dotted == "volumes":
                value = tuple((v.source, v.target, v.read_only) for v in got.volumes), value
                assert value[0] == value[1], f"{name}.volumes"
            elif dotted == "placement.constraints":
                assert tuple((c.label, c.equal, c.value) for c in got.placement.constraints) == value
            else:
                assert field(got, dotted) == value, f"{name}.{dotted}"
    assert frontends(inventory) == lb
    assert dict(result.env_files) == env_files


def test_secret_looking_values_never_enter_the_inventory_text(tmp_path):
    inventory, result = imported(tmp_path, WORDPRESS)
    assert "changeme" not in result.text
    assert service(inventory, "wordpress").env_file == tmp_path / "out" / "wordpress.env"
    assert "WORDPRESS_DB_PASSWORD" not in dict(service(inventory, "wordpress").env)


def test_an_env_file_joins_the_compose_env_files_and_the_secrets(tmp_path):
    compose = "services:\n  app:\n    image: app:1\n    env_file: [a.env, b.env]\n" \
              "    environment: {API_TOKEN: t0k, MODE: fast, DB_PASSWORD_FILE: /run/secrets/db}\n"
    inventory, result = imported(tmp_path, compose, files={"a.env": "A=1\n", "b.env": "B=2\n"})
    text = result.env_files["app.env"]
    assert [line for line in text.splitlines() if not line.startswith("#")] == ["A=1", "B=2", "API_TOKEN=t0k"]
    assert dict(service(inventory, "app").env) == {"MODE": "fast", "DB_PASSWORD_FILE": "/run/secrets/db"}


def test_one_env_file_without_secrets_is_used_where_it_is(tmp_path):
    compose = "services:\n  app:\n    image: app:1\n    env_file: conf/app.env\n"
    inventory, result = imported(tmp_path, compose, files={"conf/app.env": "A=1\n"})
    assert service(inventory, "app").env_file == tmp_path / "conf" / "app.env"
    assert result.env_files == {}


TRICKY_VALUES = ["yes", "no", "null", "~", "123", "0x1f", "1:30", "a: b", "#not a comment", "- item", "[1, 2]",
                 "{a: 1}", "it's", 'say "hi"', "", " padded ", "tab\there", "ünïcödé ✓", "*alias", "&anchor",
                 "!tag", "%percent", "@at", "`tick`", "line\\nbreak", "true", "1e3", ".inf"]


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_every_value_reads_back_exactly_as_written(tmp_path, value):
    import json

    compose = f"services:\n  app:\n    image: app:1\n    environment:\n      V: {json.dumps(value)}\n" \
              f"    command: [echo, {json.dumps(value)}]\n"
    inventory, _ = imported(tmp_path, compose)
    assert dict(service(inventory, "app").env) == {"V": value}
    assert service(inventory, "app").command == ("echo", value)


# -- notes: everything kob lacks, with its line ------------------------------------------------------------

FEATURES = """\
version: "3.8"
name: shop
x-logging: &logging
  driver: json-file
services:
  shop_web:
    build: .
    image: shop/web:1
    container_name: shop-web
    networks: [front, back]
    depends_on:
      cache: {condition: service_healthy}
    secrets: [stripe_key]
    configs: [nginx_conf]
    profiles: [prod]
    logging: *logging
    labels: {traefik.enable: "true", com.example.team: shop}
    entrypoint: [/docker-entrypoint.sh]
    ports: ["127.0.0.1:8084:80", "9000-9005:9000-9005", "8085:80/udp", "443"]
    volumes: ["/cache", "./conf:/etc/nginx/conf.d:ro,z"]
    healthcheck: {test: [CMD, true], interval: 5s}
    deploy:
      resources: {reservations: {cpus: '0.1'}}
      update_config: {parallelism: 0, failure_action: continue, delay: 10s}
      placement: {constraints: [node.role == manager, node.labels.zone==a], preferences: [{spread: node.labels.zone}]}
      labels: {a: b}
  cache:
    image: redis:7
    extends: {file: common.yaml, service: base}
    ports: ["6379:6379"]
  builder:
    build: ./builder
networks: {front: {}, back: {}}
secrets: {stripe_key: {file: ./stripe.txt}}
configs: {nginx_conf: {file: ./nginx.conf}}
volumes: {data: {driver: local, driver_opts: {type: nfs}}}
"""

NOTED = [
    (1, "version", "obsolete"),
    (2, "name", "named by its file"),
    (3, "x-logging", "x- extension"),
    (6, "services/shop_web", "is called 'shop-web' in kob"),
    (7, "services/shop_web/build", "does not build"),
    (9, "services/shop_web/container_name", "names containers itself"),
    (10, "services/shop_web/networks", "not Compose networks"),
    (11, "services/shop_web/depends_on", "start order"),
    (13, "services/shop_web/secrets", "env_file"),
    (14, "services/shop_web/configs", "volumes"),
    (15, "services/shop_web/profiles", "every service"),
    (16, "services/shop_web/logging", "log driver"),
    (17, "services/shop_web/labels", "its own container labels"),
    (18, "services/shop_web/entrypoint", "put in front of command:"),
    (19, "services/shop_web/ports[0]", "not 127.0.0.1 alone"),
    (19, "services/shop_web/ports[1]", "port range"),
    (19, "services/shop_web/ports[2]", "udp port is left out"),
    (19, "services/shop_web/ports[3]", "port 443 is left out"),
    (20, "services/shop_web/volumes[0]", "anonymous volume"),
    (20, "services/shop_web/volumes[1]", "options z"),
    (20, "services/shop_web/volumes[1]", "on each host kob runs it on"),
    (23, "services/shop_web/deploy/resources/reservations", "reserves nothing"),
    (24, "services/shop_web/deploy/update_config/parallelism", "written as 1000"),
    (24, "services/shop_web/deploy/update_config/failure_action", "written as pause"),
    (24, "services/shop_web/deploy/update_config/delay", "no equivalent"),
    (25, "services/shop_web/deploy/placement/constraints[0]", "no kob equivalent"),
    (25, "services/shop_web/deploy/placement/preferences", "spreads replicas"),
    (26, "services/shop_web/deploy/labels", "no equivalent"),
    (29, "services/cache/extends", "shared settings"),
    (30, "services/cache/ports[0]", "looks like Redis"),
    (31, "services/builder", "has no image: and is left out"),
    (33, "networks", "not Compose networks"),
    (34, "secrets", "env_file"),
    (35, "configs", "mount files"),
    (36, "volumes/data", "driver, driver_opts left out"),
]


def test_every_feature_kob_lacks_is_a_note_with_its_line(tmp_path):
    inventory, result = imported(tmp_path, FEATURES)
    notes = [(n.line, n.path, n.message) for n in result.notes]
    for line, path, words in NOTED:
        assert any(n[:2] == (line, path) and words in n[2] for n in notes), (line, path, words, notes)
    assert len(notes) == len(NOTED), [n for n in notes if not any(n[:2] == e[:2] and e[2] in n[2] for e in NOTED)]
    assert [s.name for s in inventory.services] == ["shop-web", "cache"]
    assert service(inventory, "shop-web").placement.constraints[0].label == "zone"
    assert frontends(inventory) == {"shop-web": (8084, "shop-web")}
    header = result.text.split("\nhosts:")[0]
    assert all(f"compose.yaml:{line}: {path}:" in header for line, path, _ in NOTED)


def test_interpolation_notes_unset_variables_and_quotes_them_in_shell_checks(tmp_path):
    compose = ("services:\n  app:\n    image: app:1\n    environment: ['A=${UNSET}']\n"
               "    healthcheck:\n      test: [CMD-SHELL, 'curl -f http://localhost:${PORT}/${PATH_PART} || exit 1']\n")
    inventory, result = imported(tmp_path, compose, {"PORT": "80", "PATH_PART": "x; rm -rf /"})
    assert service(inventory, "app").healthcheck.command == (
        "sh", "-c", "curl -f http://localhost:80/'x; rm -rf /' || exit 1")
    messages = [(n.line, n.message) for n in result.notes]
    assert any(line == 4 and "${UNSET} is not set" in m for line, m in messages)
    assert any(line == 6 and "${PATH_PART} substituted quoted" in m for line, m in messages)


def test_hosts_from_keeps_the_inventory_and_fits_constraints_to_its_labels(tmp_path):
    hosts = tmp_path / "out" / "site.yaml"
    hosts.parent.mkdir()
    hosts.write_text("# my hosts\nssh: {user: deploy}\nhosts:\n  a1: {address: 10.0.0.1, roles: [lb], labels: "
                     "{zone: a}}\n  b1: {address: 10.0.0.2, labels: {zone: b}}\nservices:\n  old: {image: x:1}\n"
                     "heal: {down_after: 30s}\n")
    compose = ("services:\n  web:\n    image: web:1\n    ports: ['80:8080']\n    deploy:\n      placement:\n"
               "        constraints: [node.labels.zone==b, node.labels.zone==c, node.labels.zone!=c]\n")
    inventory, result = imported(tmp_path, compose, hosts_from=hosts)
    assert [h.name for h in inventory.hosts] == ["a1", "b1"] and inventory.ssh.user == "deploy"
    assert inventory.control.down_after == 30
    assert [s.name for s in inventory.services] == ["web"]
    assert [(c.label, c.value) for c in service(inventory, "web").placement.constraints] == [("zone", "b")]
    assert "# my hosts" in result.text
    messages = [n.message for n in result.notes]
    assert any("services: section of" in m for m in messages)
    assert any("zone==c would place nothing" in m for m in messages)
    assert any("every host meets zone!=c" in m for m in messages)


def test_hosts_from_without_an_lb_role_puts_haproxy_on_the_first_host(tmp_path):
    hosts = tmp_path / "site.yaml"
    hosts.write_text("hosts:\n  h1: {address: 10.0.0.1}\n  h2: {address: 10.0.0.2}\n")
    inventory, result = imported(tmp_path, "services:\n  web: {image: web:1, ports: ['80:80']}\n", hosts_from=hosts)
    assert inventory.lb.hosts == "h1" and frontends(inventory) == {"web": (80, "web")}
    assert any("no host has the lb role" in n.message for n in result.notes)


def test_the_placeholder_hosts_carry_the_labels_the_constraints_ask_for(tmp_path):
    compose = ("services:\n  a:\n    image: a:1\n    deploy: {placement: {constraints: [node.labels.zone==x]}}\n"
               "  b:\n    image: b:1\n    deploy: {placement: {constraints: ['node.labels.zone == y', "
               "'node.labels.ssd==true']}}\n")
    inventory, _ = imported(tmp_path, compose)
    assert [dict(h.labels) for h in inventory.hosts] == [{"zone": "x", "ssd": "true"}, {"zone": "y", "ssd": "true"}]
    assert inventory.hosts[0].roles == ("lb",)


def test_frontends_stay_out_of_the_ports_kob_publishes_replicas_on(tmp_path):
    compose = "services:\n  a: {image: a:1, ports: ['20080:80']}\n  b: {image: b:1, ports: ['8080:80', '8080:81']}\n"
    inventory, result = imported(tmp_path, compose)
    assert frontends(inventory) == {"b": (8080, "b")}
    assert any(n.line == 2 and "where kob publishes replicas" in n.message for n in result.notes)


# -- hostile and broken input: one line naming file:line ------------------------------------------------

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(7)) + "services: {}\n"

HOSTILE = [
    ("billion-laughs", LAUGHS, r"compose\.yaml:\d+: with its aliases and merges expanded this holds more than"),
    ("deep", "services: " + "[" * 100 + "]" * 100 + "\n", r"compose\.yaml:1: values nest more than 64 levels deep"),
    ("list-root", "- services\n", r"compose\.yaml:1: should be a Compose file: a mapping with services:, got a list"),
    ("scalar-root", "hello\n", r"compose\.yaml:1: should be a Compose file"),
    ("empty", "", r"compose\.yaml: empty file; expected a Compose file"),
    ("no-services", "volumes: {}\n", r"compose\.yaml:1: no services: here"),
    ("services-list", "services: [web]\n", r"compose\.yaml:1: services: should be a mapping of service names"),
    ("service-scalar", "services:\n  web: nginx\n", r"compose\.yaml:2: services/web: should be a mapping"),
    ("no-image-at-all", "services:\n  web: {build: .}\n", r"compose\.yaml:1: services: no service kob can run"),
    ("bad-port", "services:\n  web: {image: a:1, ports: ['abc:80']}\n", r":2: services/web/ports\[0\]: 'abc' is not a port"),
    ("big-port", "services:\n  web: {image: a:1, ports: ['80:70000']}\n", r"'70000' is not a port number"),
    ("port-mapping-list", "services:\n  web: {image: a:1, ports: [[80]]}\n", r"ports\[0\]: should be a port such as"),
    ("bad-duration", "services:\n  web:\n    image: a:1\n    healthcheck: {test: [CMD, x], interval: 10}\n",
     r":4: services/web/healthcheck/interval: should be a duration such as 30s"),
    ("long-duration", "services:\n  web:\n    image: a:1\n    healthcheck: {test: [CMD, x], interval: 9999h}\n",
     r"more than 30 days"),
    ("bad-test", "services:\n  web:\n    image: a:1\n    healthcheck: {test: [RUN, x]}\n",
     r":4: services/web/healthcheck/test\[0\]: should be CMD, CMD-SHELL or NONE"),
    ("empty-test", "services:\n  web:\n    image: a:1\n    healthcheck: {test: []}\n", r"an empty test"),
    ("bad-image", "services:\n  web: {image: 'nginx; rm -rf /'}\n", r":2: services/web/image: 'nginx; rm -rf /' is not"),
    ("image-mapping", "services:\n  web: {image: {name: x}}\n", r"services/web/image: should be a string, got a mapping"),
    ("required-var", "services:\n  web: {image: 'a:${TAG:?set TAG to the release}'}\n",
     r":2: services/web/image: \$\{TAG\} is unset in kob's environment: set TAG to the release"),
    ("unset-var", "services:\n  web: {image: a:1, deploy: {replicas: '${REPLICAS}'}}\n",
     r":2: services/web/deploy/replicas: should be a whole number from 0 to 1000, got '' \(\$\{REPLICAS\} is not set in "
     r"kob's environment\)$"),
    ("nested-var", "services:\n  web: {image: 'a:${A:-${B}}'}\n", r"nested variables are not supported"),
    ("bad-env-name", "services:\n  web: {image: a:1, environment: ['1X=2']}\n", r"'1X' is not an environment"),
    ("env-scalar", "services:\n  web: {image: a:1, environment: A=1}\n", r"environment: should be a list of NAME=value or a mapping"),
    ("bad-memory", "services:\n  web: {image: a:1, mem_limit: lots}\n", r"mem_limit: should be a size such as 512m"),
    ("tiny-memory", "services:\n  web: {image: a:1, mem_limit: 1m}\n", r"below docker's minimum of 6m"),
    ("bad-cpus", "services:\n  web: {image: a:1, cpus: -1}\n", r"cpus: should be a number of CPUs above 0"),
    ("bad-replicas", "services:\n  web: {image: a:1, deploy: {replicas: many}}\n", r"replicas: should be a whole number"),
    ("too-many-replicas", "services:\n  web: {image: a:1, deploy: {replicas: 5000}}\n", r"from 0 to 1000"),
    ("bad-restart", "services:\n  web: {image: a:1, restart: sometimes}\n", r"restart: should be no, always"),
    ("bad-order", "services:\n  web: {image: a:1, deploy: {update_config: {order: random}}}\n",
     r"order: should be one of start-first, stop-first"),
    ("bad-target", "services:\n  web: {image: a:1, volumes: ['data:relative']}\n", r"target 'relative' should be"),
    ("bad-source", "services:\n  web: {image: a:1, volumes: ['$$x:/data']}\n", r"source '\$x' should be"),
    ("name-clash", "services:\n  my_app: {image: a:1}\n  my-app: {image: a:1}\n", r":3: services/my-app: 'my-app' and 'my_app'"),
    ("bad-name", "services:\n  Web.Server!: {image: a:1}\n", r"cannot be a kob service name"),
    ("reserved-name", "services:\n  all: {image: a:1}\n", r"'all'"),
    ("custom-tag", "services:\n  web: !reset {image: a:1}\n", r":2: services/web: unsupported YAML tag '!reset'"),
    ("duplicate-key", "services:\n  web: {image: a:1}\n  web: {image: b:1}\n", r":3: services/web: defined twice"),
    ("two-documents", "services: {}\n---\nservices: {}\n", r":2: invalid YAML: a second document"),
    ("tabs", "services:\n\tweb: {}\n", r":2: invalid YAML"),
    ("bad-quoting", "services:\n  web: {image: a:1, command: 'echo \"unclosed'}\n", r"cannot split .* into words"),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_or_broken_compose_files_are_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as raised:
        import_compose(path, output=tmp_path / "inventory.yaml", environ={})
    assert "\n" not in str(raised.value) and str(raised.value).startswith(str(path))
    assert re.search(message, str(raised.value)), str(raised.value)


def test_files_that_are_not_yaml_text_are_refused_in_one_line(tmp_path):
    huge = tmp_path / "huge.yaml"
    huge.write_text("services:\n" + "#" * (3 << 20) + "\n")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"services:\n  web: \xff\xfe\n")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    cases = {huge: "is larger than 2 MiB", binary: ":2: not UTF-8 text", fifo: "is not a regular file",
             tmp_path: "is a directory", tmp_path / "missing.yaml": "no such file"}
    for path, message in cases.items():
        with pytest.raises(SpecError, match=message) as raised:
            import_compose(path, output=tmp_path / "inventory.yaml", environ={})
        assert "\n" not in str(raised.value)


# -- the command -----------------------------------------------------------------------------------------


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, ["import", "compose", *args], env=env, catch_exceptions=False)


def test_the_command_writes_the_inventory_and_private_env_files_and_never_overwrites(tmp_path):
    (tmp_path / "compose.yaml").write_text(WORDPRESS)
    out = tmp_path / "inventory.yaml"
    done = run(str(tmp_path / "compose.yaml"), "-o", str(out), env={"WP_DB_PASSWORD": "from-env"})
    assert done.exit_code == 0, done.output
    assert "wrote" in done.stderr and "2 services, 1 frontend, " in done.stderr
    assert "kob: warning:" in done.stderr and "WORDPRESS_DB_PASSWORD looks like a secret" in done.stderr
    for name in ("wordpress.env", "db.env"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert (tmp_path / "db.env").read_text() == "MYSQL_PASSWORD=from-env\nMYSQL_RANDOM_ROOT_PASSWORD=1\n"
    first = out.read_text()
    again = run(str(tmp_path / "compose.yaml"), "-o", str(out))
    assert again.exit_code == 1 and again.stderr == f"kob: error: {out} already exists; give --force to replace it, " \
                                                   "or write elsewhere with -o\n"
    assert out.read_text() == first and (tmp_path / "db.env").read_text() == "MYSQL_PASSWORD=from-env\nMYSQL_RANDOM_ROOT_PASSWORD=1\n"
    forced = run(str(tmp_path / "compose.yaml"), "-o", str(out), "--force", env={"WP_DB_PASSWORD": "other"})
    assert forced.exit_code == 0 and (tmp_path / "db.env").read_text().startswith("MYSQL_PASSWORD=other\n")


def test_the_command_prints_to_standard_output_without_env_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "compose.yaml").write_text(WORDPRESS)
    done = run("compose.yaml")
    assert done.exit_code == 0 and done.stdout.startswith("# Written by `kob import compose compose.yaml`")
    assert "    # env_file: wordpress.env" in done.stdout and "changeme" not in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compose.yaml"]
    check_loads(done.stdout, tmp_path / "inventory.yaml")


def test_the_command_refuses_a_broken_file_in_one_line(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web: {image: a:1, ports: ['x:80']}\n")
    done = run(str(tmp_path / "compose.yaml"), "-o", str(tmp_path / "inventory.yaml"))
    assert done.exit_code == 1 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"kob: error: {tmp_path / 'compose.yaml'}:2: services/web/ports[0]: ")
    assert not (tmp_path / "inventory.yaml").exists()


def test_an_existing_env_file_is_not_replaced_without_force(tmp_path):
    (tmp_path / "compose.yaml").write_text(WORDPRESS)
    (tmp_path / "db.env").write_text("MINE=1\n")
    done = run(str(tmp_path / "compose.yaml"), "-o", str(tmp_path / "inventory.yaml"))
    assert done.exit_code == 1 and done.stderr.endswith(f"kob: error: {tmp_path / 'db.env'} already exists; give "
                                                        "--force to replace it, or write elsewhere with -o\n")
    assert (tmp_path / "db.env").read_text() == "MINE=1\n" and not (tmp_path / "inventory.yaml").exists()
    assert not (tmp_path / "wordpress.env").exists()


NOTED_SMALL = [
    ("services:\n  a:\n    image: a:1\n    environment: [X=1, X=2]\n", {"X": "2"}, (4, "X is given twice")),
    ("services:\n  a:\n    image: a:1\n    deploy: {mode: global, replicas: 3}\n", {}, (4, "replicas: is left out")),
    ("services:\n  a:\n    image: a:1\n    env_file: [{path: missing.env}]\n", {}, (4, "not found; left out")),
    ("services:\n  a:\n    image: a:1\n    environment: [FROM_ENV]\n", {}, (4, "FROM_ENV takes its value")),
    ("volumes:\n  vol: {external: true}\nservices:\n  a: {image: a:1, volumes: ['vol:/v']}\n", {},
     (2, "external left out")),
]


@pytest.mark.parametrize("compose, env, note", NOTED_SMALL)
def test_small_cases_are_noted_where_they_are(tmp_path, compose, env, note):
    inventory, result = imported(tmp_path, compose)
    assert dict(inventory.services[0].env) == env
    assert any(n.line == note[0] and note[1] in n.message for n in result.notes), result.notes


# -- generated variations: an import either writes an inventory kob loads, or is refused in one line ------

JUNK = [None, "", "~", "yes", 0, -1, 1.5, 99999999999999999999, "1e400", "abc", "a b", "x:y:z", "/abs", "./rel",
        "${UNSET}", "${X:-dflt}", "$$", "${", "ünï", "\t", "a\nb", [], {}, ["a"], {"k": "v"}, [[1]], True, "0:0",
        "CMD", "CMD-SHELL", "NONE", "65536", "80:80/udp", "10s", "1.5g", "0", "on-failure:0"]


def _mutated(value, rng):
    if rng.random() < 0.08:
        return rng.choice(JUNK)
    if isinstance(value, dict):
        return {key: _mutated(item, rng) for key, item in value.items()}
    if isinstance(value, list):
        return [_mutated(item, rng) for item in value]
    return value


def test_variations_of_the_shapes_import_into_a_loadable_inventory_or_fail_in_one_line(tmp_path):
    import random

    import yaml

    from kob.errors import KobError

    rng = random.Random(17)
    sources = [yaml.safe_load(case[1]) for case in SHAPES] + [yaml.safe_load(FEATURES)]
    loaded = refused = 0
    out = tmp_path / "out" / "inventory.yaml"
    out.parent.mkdir()
    for attempt in range(600):
        document = _mutated(rng.choice(sources), rng)
        path = tmp_path / "compose.yaml"
        path.write_text(yaml.safe_dump(document, default_flow_style=rng.random() < 0.3))
        try:
            result = import_compose(path, output=out, environ={"X": "1"})
        except KobError as error:
            assert "\n" not in str(error) and str(error).startswith(str(path)), str(error)
            refused += 1
            continue
        for name, text in result.env_files.items():
            (out.parent / name).write_text(text)
        try:
            check_loads(result.text, out)
        except KobError as error:
            pytest.fail(f"the import of\n{path.read_text()}\nwrote an inventory kob refuses: {error}")
        loaded += 1
    assert loaded > 100 and refused > 100


def test_node_hostname_constraints_become_placement_hosts(tmp_path):
    hosts = tmp_path / "site.yaml"
    hosts.write_text("hosts:\n  h1: {address: 10.0.0.1, roles: [lb]}\n  h2: {address: 10.0.0.2}\n"
                     "  h3: {address: 10.0.0.3}\n")
    compose = ("services:\n"
               "  a: {image: a:1, deploy: {placement: {constraints: [node.hostname == h2]}}}\n"
               "  b: {image: b:1, deploy: {placement: {constraints: [node.hostname!=h1, node.hostname != h3]}}}\n"
               "  c: {image: c:1, deploy: {placement: {constraints: [node.hostname==nowhere]}}}\n")
    inventory, result = imported(tmp_path, compose, hosts_from=hosts)
    assert [s.placement.hosts for s in inventory.services] == ["h2", "all,!h1,!h3", "all"]
    assert any(n.line == 4 and "no host is named 'nowhere'" in n.message for n in result.notes)


TRAEFIK = """\
services:
  proxy:
    image: traefik:v3.1
    command: [--providers.docker]
    ports: ["8000:80", "8088:8080"]
    volumes: [/var/run/docker.sock:/var/run/docker.sock:ro]
  whoami:
    image: traefik/whoami:v1.10
    labels:
      - traefik.enable=true
      - traefik.http.routers.whoami.rule=Host(`whoami.example.com`)
  api:
    image: api:1
    labels:
      traefik.http.routers.api.rule: Host(`example.com`) && PathPrefix(`/api`)
      traefik.http.services.api.loadbalancer.server.port: "8000"
      traefik.http.routers.api.tls: "true"
  odd:
    image: odd:1
    expose: ["80"]
    labels: ["traefik.http.routers.odd.rule=Host(`a.com`) || Host(`b.com`)"]
"""


def test_traefik_routers_in_labels_become_lb_routes_and_haproxy_takes_traefiks_place(tmp_path):
    inventory, result = imported(tmp_path, TRAEFIK)
    assert [s.name for s in inventory.services] == ["whoami", "api", "odd"]
    assert [(s.name, s.port) for s in inventory.services] == [("whoami", 80), ("api", 8000), ("odd", 80)]
    (http,) = inventory.lb.frontends
    assert (http.name, http.bind, http.default_service) == ("http", 8000, None)
    assert [(r.host, r.path_prefix, r.service) for r in http.routes] == [
        ("whoami.example.com", None, "whoami"), ("example.com", "/api", "api")]
    notes = [(n.line, n.message) for n in result.notes]
    assert any(line == 2 and "takes Traefik's place" in m for line, m in notes)
    assert any(line == 9 and "port 80 assumed" in m for line, m in notes)
    assert any(line == 14 and "left out: traefik.http.routers.api.tls" in m for line, m in notes)
    assert any(line == 21 and "Traefik rule" in m and "left out" in m for line, m in notes)


def test_hosts_from_with_relative_paths_elsewhere_is_refused_in_one_line(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "id_key").write_text("key")
    (site / "inventory.yaml").write_text("ssh: {key: id_key}\nhosts:\n  h1: {address: 10.0.0.1, roles: [lb]}\n")
    (tmp_path / "compose.yaml").write_text("services:\n  web: {image: web:1}\n")
    with pytest.raises(SpecError, match=r"site/inventory\.yaml:1: ssh/key: key file .* not found .*, once the "
                                        r"inventory is in .*/out: write -o beside .*, or make its paths absolute$") \
            as raised:
        import_compose(tmp_path / "compose.yaml", output=tmp_path / "out" / "inventory.yaml", environ={},
                       hosts_from=site / "inventory.yaml")
    assert "\n" not in str(raised.value)
    result = import_compose(tmp_path / "compose.yaml", output=site / "web.yaml", environ={},
                            hosts_from=site / "inventory.yaml")
    assert check_loads(result.text, site / "web.yaml").ssh.key == site / "id_key"


def test_the_dot_env_file_beside_the_compose_file_is_read_under_the_environment(tmp_path):
    from kob.spec.compose import project_environment

    (tmp_path / ".env").write_text("# tags\nTAG=2.0\nREGISTRY='ghcr.io/acme'\nNOTE=kept # a comment\nEMPTY=\n")
    (tmp_path / "compose.yaml").write_text("services:\n  web: {image: '${REGISTRY}/web:${TAG}'}\n")
    assert project_environment(tmp_path / "compose.yaml", {"TAG": "3.1"}) == {
        "TAG": "3.1", "REGISTRY": "ghcr.io/acme", "NOTE": "kept", "EMPTY": ""}
    done = run(str(tmp_path / "compose.yaml"), env={"TAG": "3.1"})
    assert done.exit_code == 0 and "    image: ghcr.io/acme/web:3.1\n" in done.stdout
    (tmp_path / ".env").write_text("TAG=1\nnot a line\n")
    with pytest.raises(SpecError, match=r"/\.env:2: not NAME=value"):
        project_environment(tmp_path / "compose.yaml", {})


def test_routes_that_take_the_same_requests_are_kept_once(tmp_path):
    compose = ("services:\n"
               "  a: {image: a:1, labels: ['traefik.http.routers.a.rule=Host(`Shop.example`)']}\n"
               "  b: {image: b:1, labels: ['traefik.http.routers.b.rule=Host(`shop.example`)']}\n")
    inventory, result = imported(tmp_path, compose)
    assert [(r.host, r.service) for r in inventory.lb.frontends[0].routes] == [("Shop.example", "a")]
    assert any(n.line == 3 and "another route already takes these requests" in n.message for n in result.notes)


def test_the_command_refuses_an_output_folder_that_does_not_exist_or_a_symlinked_env_file(tmp_path):
    (tmp_path / "compose.yaml").write_text(WORDPRESS)
    done = run(str(tmp_path / "compose.yaml"), "-o", str(tmp_path / "no" / "inventory.yaml"))
    assert done.exit_code == 1 and done.stderr == (f"kob: error: folder {tmp_path / 'no'} of "
                                                   f"{tmp_path / 'no' / 'inventory.yaml'} does not exist; create it "
                                                   f"(mkdir -p {tmp_path / 'no'})\n")
    (tmp_path / "elsewhere").write_text("keep\n")
    (tmp_path / "db.env").symlink_to(tmp_path / "elsewhere")
    done = run(str(tmp_path / "compose.yaml"), "-o", str(tmp_path / "inventory.yaml"), "--force")
    assert done.exit_code == 1 and done.stderr.endswith(f"kob: error: {tmp_path / 'db.env'}: cannot write: "
                                                        "Too many levels of symbolic links\n")
    assert (tmp_path / "elsewhere").read_text() == "keep\n" and not (tmp_path / "inventory.yaml").exists()


def test_values_that_carry_a_secret_go_to_the_env_file_whatever_their_name(tmp_path):
    compose = ("services:\n  app:\n    image: app:1\n    environment:\n"
               "      DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app\n"
               "      CACHE_URL: redis://:hunter2@cache:6379/0\n"
               "      PUBLIC_URL: https://example.com/x@y\n"
               "      KEY_FILE: /run/secrets/key\n"
               "      SIGNING_KEY_FILE: ${SIGNING_KEY_FILE:-/run/k}\n")
    inventory, result = imported(tmp_path, compose, {"DB_PASSWORD": "pw"})
    assert dict(service(inventory, "app").env) == {"PUBLIC_URL": "https://example.com/x@y",
                                                   "KEY_FILE": "/run/secrets/key", "SIGNING_KEY_FILE": "/run/k"}
    assert result.env_files["app.env"] == "DATABASE_URL=postgres://app:pw@db/app\nCACHE_URL=redis://:hunter2@cache:6379/0\n"
    assert "pw@" not in result.text and "hunter2" not in result.text


def test_global_mode_counts_the_hosts_its_constraints_allow(tmp_path):
    hosts = tmp_path / "site.yaml"
    hosts.write_text("hosts:\n  h1: {address: 10.0.0.1, roles: [lb], labels: {gpu: 'yes'}}\n"
                     "  h2: {address: 10.0.0.2, labels: {gpu: 'yes'}}\n  h3: {address: 10.0.0.3, labels: {gpu: 'no'}}\n")
    compose = ("services:\n  agent:\n    image: agent:1\n    deploy:\n      mode: global\n"
               "      placement: {constraints: [node.labels.gpu==yes, node.hostname!=h1]}\n")
    inventory, _ = imported(tmp_path, compose, hosts_from=hosts)
    (agent,) = inventory.services
    assert (agent.replicas, agent.placement.max_per_host, agent.placement.hosts) == (1, 1, "all,!h1")


def test_placeholder_hosts_stay_few_whatever_the_constraints_name(tmp_path):
    constraints = ", ".join(f"node.labels.zone==z{i}" for i in range(300))
    compose = f"services:\n  a:\n    image: a:1\n    deploy: {{placement: {{constraints: [{constraints}]}}}}\n"
    inventory, result = imported(tmp_path, compose)
    assert len(inventory.hosts) == 50
    assert sum("would place nothing" in n.message for n in result.notes) == 250
