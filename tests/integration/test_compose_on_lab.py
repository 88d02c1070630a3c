"""A Compose file imported with `kob import compose --hosts-from` deploys on the lab and answers through HAProxy."""

from __future__ import annotations

from collections import Counter

from kob.spec.inventory import load_inventory
from tests.helpers.lab_services import fetch, kob, on_vm

COMPOSE = """\
version: "3.8"
services:
  web:
    image: kob-demo/web:1
    ports: ["8090:80"]
    environment:
      GREETING: hello from compose
      API_TOKEN: ${DEMO_TOKEN:-t0k3n}
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:80/healthz || exit 1"]
      interval: 1s
      timeout: 3s
      retries: 3
      start_period: 5s
    deploy:
      replicas: 3
      resources: {limits: {memory: 64M}}
      update_config: {parallelism: 1, order: start-first, failure_action: rollback, monitor: 0s}
    depends_on: [cache]
    networks: [front]
  cache:
    build: ./cache
networks: {front: {}}
"""


def test_an_imported_compose_file_deploys_and_answers_through_haproxy(lab, tmp_path):
    compose = tmp_path / "docker-compose.yaml"
    compose.write_text(COMPOSE)
    inventory = tmp_path / "compose-inventory.yaml"  # its own file name: its own namespace in the lab's etcd
    done = kob("import", "compose", str(compose), "-o", str(inventory), "--hosts-from", str(lab.layout.inventory))
    assert done.returncode == 0, done.stderr
    assert ":19: services/web/depends_on:" in done.stderr and ":21: services/cache: service 'cache' has no image" \
        in done.stderr
    assert "t0k3n" not in inventory.read_text() and (tmp_path / "web.env").read_text() == "API_TOKEN=t0k3n\n"
    loaded = load_inventory(inventory)
    lb_host = next(host for host in loaded.hosts if "lb" in host.roles)
    try:
        deployed = kob("deploy", str(inventory), "--wait", "30")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        replicas = Counter(fetch(f"http://{lb_host.address}:8090/").split("replica=")[1].split()[0]
                           for _ in range(30))
        assert sorted(replicas) == ["1", "2", "3"]
        script = "for c in $(docker ps -q --filter label=kob.service=web); do docker exec $c env; echo --; done"
        envs = [env for host in loaded.hosts for env in on_vm(lab, host.name, script).split("--\n") if env.strip()]
        assert len(envs) == 3
        assert all("GREETING=hello from compose\n" in env and "API_TOKEN=t0k3n\n" in env for env in envs)
    finally:
        down = kob("down", str(inventory), "--wait", "30")
        assert down.returncode == 0, down.stdout + down.stderr
