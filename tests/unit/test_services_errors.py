"""Malformed services: and lb: sections: each one must fail with this exact message."""

import textwrap

import pytest

from tests.helpers.inventory_loading import assert_refused


# Lines 1-4; services: is line 5, the service's name line 6, its first key line 7.
HOSTS = """\
hosts:
  vm1: {address: 198.18.0.11, roles: [lb], labels: {zone: a}}
  vm2: {address: 198.18.0.12, roles: [worker]}
  vm3: {address: 198.18.0.13, roles: [worker]}
"""
# Lines 5-9: web (port 80, line 6) and api (no port, line 8).
SERVICES = """\
services:
  web:
    {image: nginx:1.27, port: 80}
  api:
    image: kob-demo/api:1
"""


def web(body: str) -> str:
    """An inventory whose service 'web' has these settings (the first one on line 7)."""
    return HOSTS + "services:\n  web:\n" + textwrap.indent(textwrap.dedent(body), "    ")


def lb(body: str) -> str:
    """An inventory with web and api and this lb: section (lb: on line 10)."""
    return HOSTS + SERVICES + "lb:\n" + textwrap.indent(textwrap.dedent(body), "  ")


ALLOWED = ("(allowed: image, replicas, port, command, env, env_file, volumes, healthcheck, resources, restart, "
           "placement, update, autoscale)")

MALFORMED = [
    # -- the section and service names -----------------------------------------
    (
        "services as a list",
        HOSTS + "services: [web]\n",
        "inventory.yaml:5: services: should be a mapping of service names to their settings, got a list",
    ),
    (
        "uppercase service name",
        HOSTS + "services:\n  Web: {image: nginx}\n",
        "inventory.yaml:6: services/Web: 'Web' is not a valid service name; use lowercase letters, digits and '-', "
        "starting with a letter or digit, at most 40 characters (it is used in container labels and HAProxy names)",
    ),
    (
        "service name with an underscore",
        HOSTS + "services:\n  my_web: {image: nginx}\n",
        "inventory.yaml:6: services/my_web: 'my_web' is not a valid service name; use lowercase letters, digits "
        "and '-', starting with a letter or digit, at most 40 characters (it is used in container labels and "
        "HAProxy names)",
    ),
    (
        "service name too long",
        HOSTS + "services:\n  " + "w" * 41 + ": {image: nginx}\n",
        f"inventory.yaml:6: services/{'w' * 41}: {'w' * 41!r} is not a valid service name; use lowercase letters, "
        "digits and '-', starting with a letter or digit, at most 40 characters (it is used in container labels "
        "and HAProxy names)",
    ),
    (
        "service named all",
        HOSTS + "services:\n  all: {image: nginx}\n",
        "inventory.yaml:6: services/all: 'all' is reserved; pick another service name",
    ),
    (
        "service defined twice",
        HOSTS + "services:\n  web: {image: nginx}\n  web: {image: httpd}\n",
        "inventory.yaml:7: services/web: defined twice (first at line 6); remove or rename one",
    ),
    (
        "unknown service key with suggestion",
        web("image: nginx\nreplica: 2\n"),
        f"inventory.yaml:8: services/web/replica: unknown key; did you mean 'replicas'? {ALLOWED}",
    ),
    ("missing image", web("replicas: 2\n"), "inventory.yaml:6: services/web: missing required key 'image'"),
    (
        "service without settings",
        HOSTS + "services:\n  web:\n",
        "inventory.yaml:6: services/web: missing required key 'image'",
    ),
    # -- image, replicas, port, command ----------------------------------------
    (
        "image with a space",
        web("image: nginx 1.27\n"),
        "inventory.yaml:7: services/web/image: 'nginx 1.27' is not a valid image reference; use letters, digits "
        "and . _ / : @ -, like nginx:1.27 or registry.example:5000/team/web:2",
    ),
    (
        "image ending in a colon",
        web("image: 'nginx:'\n"),
        "inventory.yaml:7: services/web/image: 'nginx:' is not a valid image reference; use letters, digits "
        "and . _ / : @ -, like nginx:1.27 or registry.example:5000/team/web:2",
    ),
    (
        "image that looks like an option",
        web("image: --privileged\n"),
        "inventory.yaml:7: services/web/image: '--privileged' is not a valid image reference; use letters, digits "
        "and . _ / : @ -, like nginx:1.27 or registry.example:5000/team/web:2",
    ),
    (
        "negative replicas",
        web("image: nginx\nreplicas: -1\n"),
        "inventory.yaml:8: services/web/replicas: should be between 0 and 1000, got -1",
    ),
    (
        "quoted replicas",
        web("image: nginx\nreplicas: '3'\n"),
        "inventory.yaml:8: services/web/replicas: should be an integer, got the string '3'; remove the quotes",
    ),
    (
        "port zero",
        web("image: nginx\nport: 0\n"),
        "inventory.yaml:8: services/web/port: should be between 1 and 65535, got 0",
    ),
    (
        "command with an unclosed quote",
        web("image: nginx\ncommand: sh -c \"echo hi\n"),
        "inventory.yaml:8: services/web/command: cannot split 'sh -c \"echo hi' into words (no closing quotation); "
        "fix the quoting or write a list",
    ),
    (
        "empty command list",
        web("image: nginx\ncommand: []\n"),
        "inventory.yaml:8: services/web/command: should not be empty; "
        "leave command: out to run the image's own command",
    ),
    (
        "command as a mapping",
        web("image: nginx\ncommand: {run: x}\n"),
        "inventory.yaml:8: services/web/command: should be a list of strings or one command line, got a mapping",
    ),
    (
        "command item is a list",
        web("image: nginx\ncommand: [sh, [x]]\n"),
        "inventory.yaml:8: services/web/command[1]: should be a string, got a list",
    ),
    # -- env, env_file ---------------------------------------------------------
    (
        "env name with a dash",
        web("image: nginx\nenv:\n  MY-VAR: x\n"),
        "inventory.yaml:9: services/web/env/MY-VAR: 'MY-VAR' is not a valid environment variable name; use letters, "
        "digits and '_', not starting with a digit",
    ),
    (
        "env name starting with a digit",
        web("image: nginx\nenv: {1X: y}\n"),
        "inventory.yaml:8: services/web/env/1X: '1X' is not a valid environment variable name; use letters, "
        "digits and '_', not starting with a digit",
    ),
    (
        "env as a list",
        web("image: nginx\nenv: [A=1]\n"),
        "inventory.yaml:8: services/web/env: should be a mapping of variable names to values, got a list",
    ),
    (
        "env value a list",
        web("image: nginx\nenv:\n  A: [1, 2]\n"),
        "inventory.yaml:9: services/web/env/A: should be a string, got a list",
    ),
    (
        "missing env_file",
        web("image: nginx\nenv_file: secrets/web.env\n"),
        "inventory.yaml:8: services/web/env_file: env file secrets/web.env not found "
        "(relative paths start at the folder of this file)",
    ),
    (
        "env_file is a folder",
        web("image: nginx\nenv_file: lab\n"),
        "inventory.yaml:8: services/web/env_file: env file lab is a directory; give the path of a file",
    ),
    # -- volumes ---------------------------------------------------------------
    (
        "volume without a target",
        web("image: nginx\nvolumes: [/srv/data]\n"),
        "inventory.yaml:8: services/web/volumes[0]: should be source:target[:ro|:rw], like /srv/data:/data "
        "or cache:/cache:ro; got '/srv/data'",
    ),
    (
        "volume with a relative target",
        web("image: nginx\nvolumes: ['/srv/data:data']\n"),
        "inventory.yaml:8: services/web/volumes[0]: target 'data' should be an absolute path in the container, "
        "like /data",
    ),
    (
        "volume over the root",
        web("image: nginx\nvolumes: ['/srv/data:/']\n"),
        "inventory.yaml:8: services/web/volumes[0]: target / would hide the whole container; mount a folder "
        "such as /data",
    ),
    (
        "volume with a bad mode",
        web("image: nginx\nvolumes: ['cache:/cache:readonly']\n"),
        "inventory.yaml:8: services/web/volumes[0]: mode 'readonly' should be ro or rw",
    ),
    (
        "volume with a relative source",
        web("image: nginx\nvolumes:\n  - /srv/a:/a\n  - ./data:/data\n"),
        "inventory.yaml:10: services/web/volumes[1]: source './data' should be an absolute host path or a volume "
        "name (two or more letters, digits, '_', '.' and '-', starting with a letter or digit)",
    ),
    (
        "volume target mounted twice",
        web("image: nginx\nvolumes: ['/srv/a:/data', 'cache:/data/:ro']\n"),
        "inventory.yaml:8: services/web/volumes[1]: /data is already mounted by volumes[0]; mount each target once",
    ),
    (
        "volumes as a string",
        web("image: nginx\nvolumes: /srv/a:/a\n"),
        "inventory.yaml:8: services/web/volumes: should be a list of mounts such as /srv/data:/data, "
        "got '/srv/a:/a'; write [/srv/a:/a] for a single item",
    ),
    # -- healthcheck -----------------------------------------------------------
    (
        "healthcheck with neither http nor command",
        web("image: nginx\nport: 80\nhealthcheck: {interval: 2s}\n"),
        "inventory.yaml:9: services/web/healthcheck: give http: (a path to GET on the port) or command: "
        "(run inside the container)",
    ),
    (
        "empty healthcheck",
        web("image: nginx\nhealthcheck:\n"),
        "inventory.yaml:8: services/web/healthcheck: give http: (a path to GET on the port) or command: "
        "(run inside the container)",
    ),
    (
        "healthcheck with both http and command",
        web("image: nginx\nport: 80\nhealthcheck:\n  http: /healthz\n  command: [true]\n"),
        "inventory.yaml:11: services/web/healthcheck/command: give either http: or command:, not both",
    ),
    (
        "healthcheck path without a slash",
        web("image: nginx\nport: 80\nhealthcheck: {http: healthz}\n"),
        "inventory.yaml:9: services/web/healthcheck/http: should be a URL path starting with '/', like /healthz, "
        "got 'healthz'",
    ),
    (
        "healthcheck path with a space",
        web("image: nginx\nport: 80\nhealthcheck: {http: /health z}\n"),
        "inventory.yaml:9: services/web/healthcheck/http: ' ' is not allowed in a URL path; percent-encode it "
        "(a space is %20)",
    ),
    (
        "http healthcheck without a port",
        web("image: nginx\nhealthcheck:\n  http: /healthz\n"),
        "inventory.yaml:9: services/web/healthcheck/http: an http check is sent to the service's port; "
        "add port: to this service",
    ),
    (
        "healthcheck interval zero",
        web("image: nginx\nhealthcheck: {command: [true], interval: 0s}\n"),
        "inventory.yaml:8: services/web/healthcheck/interval: should be more than 0, got 0s",
    ),
    (
        "healthcheck retries zero",
        web("image: nginx\nhealthcheck: {command: [true], retries: 0}\n"),
        "inventory.yaml:8: services/web/healthcheck/retries: should be at least 1, got 0",
    ),
    (
        "unknown healthcheck key",
        web("image: nginx\nhealthcheck:\n  command: [true]\n  interva: 2s\n"),
        "inventory.yaml:10: services/web/healthcheck/interva: unknown key; did you mean 'interval'? "
        "(allowed: http, command, interval, timeout, retries, start_period)",
    ),
    (
        "empty healthcheck command",
        web("image: nginx\nhealthcheck: {command: '  '}\n"),
        "inventory.yaml:8: services/web/healthcheck/command: should not be empty; give the check to run",
    ),
    # -- resources, restart ----------------------------------------------------
    (
        "zero cpus",
        web("image: nginx\nresources: {cpus: 0}\n"),
        "inventory.yaml:8: services/web/resources/cpus: should be more than 0, got 0",
    ),
    (
        "memory with MB",
        web("image: nginx\nresources: {memory: 256MB}\n"),
        "inventory.yaml:8: services/web/resources/memory: should be a size such as 256m or 1g (suffix b, k, m or g; "
        "no suffix means bytes), got '256MB'",
    ),
    (
        "memory in bytes below docker's minimum",
        web("image: nginx\nresources:\n  memory: 256\n"),
        "inventory.yaml:9: services/web/resources/memory: 256 is 256 bytes, below docker's minimum of 6m; "
        "did you mean 256m?",
    ),
    (
        "memory zero",
        web("image: nginx\nresources: {memory: 0k}\n"),
        "inventory.yaml:8: services/web/resources/memory: 0k is 0 bytes, below docker's minimum of 6m",
    ),
    (
        "unknown resources key",
        web("image: nginx\nresources: {cpu: 1}\n"),
        "inventory.yaml:8: services/web/resources/cpu: unknown key; did you mean 'cpus'? (allowed: cpus, memory)",
    ),
    (
        "restart misspelt",
        web("image: nginx\nrestart: allways\n"),
        "inventory.yaml:8: services/web/restart: should be one of no, always, unless-stopped, on-failure, "
        "on-failure:N, got 'allways'; did you mean 'always'?",
    ),
    (
        "restart on-failure:0",
        web("image: nginx\nrestart: on-failure:0\n"),
        "inventory.yaml:8: services/web/restart: on-failure:N needs a whole number N of at least 1, "
        "got 'on-failure:0'",
    ),
    # -- placement, update -----------------------------------------------------
    (
        "placement on an unknown group",
        web("image: nginx\nplacement:\n  hosts: wroker\n"),
        "inventory.yaml:9: services/web/placement/hosts: no host or group named 'wroker'; did you mean 'worker'?",
    ),
    (
        "placement pattern that selects nothing",
        web("image: nginx\nplacement: {hosts: 'worker:!vm2:!vm3'}\n"),
        "inventory.yaml:8: services/web/placement/hosts: host pattern 'worker:!vm2:!vm3' matches no host",
    ),
    (
        "placement strategy misspelt",
        web("image: nginx\nplacement: {strategy: least_loaded}\n"),
        "inventory.yaml:8: services/web/placement/strategy: should be one of spread, least-loaded, "
        "got 'least_loaded'; did you mean 'least-loaded'?",
    ),
    (
        "constraint with a single =",
        web("image: nginx\nplacement:\n  constraints: [role!=lb, zone=a]\n"),
        "inventory.yaml:9: services/web/placement/constraints[1]: 'zone=a' is not a constraint; write label==value "
        "or label!=value, like zone==a",
    ),
    (
        "constraint without a value",
        web("image: nginx\nplacement: {constraints: ['zone==']}\n"),
        "inventory.yaml:8: services/web/placement/constraints[0]: 'zone==' is not a constraint; write label==value "
        "or label!=value, like zone==a",
    ),
    (
        "constraint on a label no host has",
        web("image: nginx\nplacement: {constraints: ['zome==a']}\n"),
        "inventory.yaml:8: services/web/placement/constraints[0]: no host has a label 'zome' (labels: role, zone); "
        "did you mean 'zone'?",
    ),
    (
        "constraint on a label value no host has",
        web("image: nginx\nplacement: {constraints: ['zone==b']}\n"),
        "inventory.yaml:8: services/web/placement/constraints[0]: no host has zone=b (zone values: a)",
    ),
    (
        "constraint on a role no host has",
        web("image: nginx\nplacement: {constraints: ['role!=workers']}\n"),
        "inventory.yaml:8: services/web/placement/constraints[0]: no host has role=workers (role values: lb, worker); "
        "did you mean 'worker'?",
    ),
    (
        "max_per_host zero",
        web("image: nginx\nplacement: {max_per_host: 0}\n"),
        "inventory.yaml:8: services/web/placement/max_per_host: should be at least 1, got 0",
    ),
    (
        "update order misspelt",
        web("image: nginx\nupdate: {order: start_first}\n"),
        "inventory.yaml:8: services/web/update/order: should be one of start-first, stop-first, got 'start_first'; "
        "did you mean 'start-first'?",
    ),
    (
        "update failure_action unknown",
        web("image: nginx\nupdate: {failure_action: ignore}\n"),
        "inventory.yaml:8: services/web/update/failure_action: should be one of rollback, pause, got 'ignore'",
    ),
    (
        "update parallelism zero",
        web("image: nginx\nupdate:\n  parallelism: 0\n"),
        "inventory.yaml:9: services/web/update/parallelism: should be at least 1, got 0",
    ),
    (
        "negative update monitor",
        web("image: nginx\nupdate: {monitor: -1}\n"),
        "inventory.yaml:8: services/web/update/monitor: should be at least 0, got -1",
    ),
    # -- lb: hosts and keys ----------------------------------------------------
    (
        "lb without any lb host",
        "hosts:\n  vm1: {address: 198.18.0.11}\n" + SERVICES
        + "lb:\n  frontends:\n    http: {bind: 80, default: web}\n",
        "inventory.yaml:8: lb: no host has the 'lb' role; add roles: [lb] to the hosts that should run HAProxy, "
        "or name them in hosts: here",
    ),
    (
        "lb hosts unknown",
        lb("hosts: edge\nfrontends:\n  http: {bind: 80, default: web}\n"),
        "inventory.yaml:11: lb/hosts: no host or group named 'edge'",
    ),
    (
        "lb hosts selecting nothing",
        lb("hosts: 'lb:!vm1'\nfrontends:\n  http: {bind: 80, default: web}\n"),
        "inventory.yaml:11: lb/hosts: host pattern 'lb:!vm1' matches no host",
    ),
    (
        "unknown lb key",
        lb("frontend:\n  http: {bind: 80, default: web}\n"),
        "inventory.yaml:11: lb/frontend: unknown key; did you mean 'frontends'? (allowed: hosts, balance, frontends, "
        "retries, retry_methods, connect_timeout, checks)",
    ),
    ("lb without frontends", lb("balance: roundrobin\n"), "inventory.yaml:10: lb: missing required key 'frontends'"),
    ("empty lb", HOSTS + SERVICES + "lb:\n", "inventory.yaml:10: lb: missing required key 'frontends'"),
    (
        "lb with no frontends",
        lb("frontends: {}\n"),
        "inventory.yaml:11: lb/frontends: no frontends; add at least one, e.g. http: {bind: 80, default: web}",
    ),
    (
        "balance misspelt",
        lb("balance: leastconns\nfrontends:\n  http: {bind: 80, default: web}\n"),
        "inventory.yaml:11: lb/balance: should be one of roundrobin, leastconn, source, got 'leastconns'; "
        "did you mean 'leastconn'?",
    ),
    # -- lb: failover -----------------------------------------------------------
    (
        "too many retries",
        lb("retries: 50\nfrontends:\n  http: {bind: 80, default: web}\n"),
        "inventory.yaml:11: lb/retries: should be between 0 and 10, got 50",
    ),
    (
        "a non-idempotent method retried",
        lb("retry_methods: [GET, POST]\nfrontends:\n  http: {bind: 80, default: web}\n"),
        "inventory.yaml:11: lb/retry_methods[1]: POST is not idempotent: a replica may have acted on it before it "
        "closed, and sending it again could do it twice; list only GET, HEAD, OPTIONS, TRACE, PUT, DELETE",
    ),
    (
        "an unknown method retried",
        lb("retry_methods: [get]\nfrontends:\n  http: {bind: 80, default: web}\n"),
        "inventory.yaml:11: lb/retry_methods[0]: should be one of GET, HEAD, OPTIONS, TRACE, PUT, DELETE "
        "(in capitals), got 'get'",
    ),
    (
        "retry methods not a list",
        lb("retry_methods: GET\nfrontends:\n  http: {bind: 80, default: web}\n"),
        "inventory.yaml:11: lb/retry_methods: should be a list of HTTP methods such as [GET, HEAD, OPTIONS], "
        "got 'GET'; write [GET] for a single item",
    ),
    (
        "a connect timeout of none",
        lb("connect_timeout: 0s\nfrontends:\n  http: {bind: 80, default: web}\n"),
        "inventory.yaml:11: lb/connect_timeout: should be between 0.001 and 60, got 0s",
    ),
    (
        "checks too often",
        lb("checks: {interval: 10ms}\nfrontends:\n  http: {bind: 80, default: web}\n"),
        "inventory.yaml:11: lb/checks/interval: should be between 0.1 and 3600, got 10ms",
    ),
    (
        "checks that never take a replica out",
        lb("checks: {fall: 0}\nfrontends:\n  http: {bind: 80, default: web}\n"),
        "inventory.yaml:11: lb/checks/fall: should be between 1 and 10, got 0",
    ),
    (
        "an unknown checks key",
        lb("checks: {inter: 1s}\nfrontends:\n  http: {bind: 80, default: web}\n"),
        "inventory.yaml:11: lb/checks/inter: unknown key; did you mean 'interval'? (allowed: interval, fall, rise)",
    ),
    # -- lb: frontends ---------------------------------------------------------
    (
        "uppercase frontend name",
        lb("frontends:\n  HTTP: {bind: 80, default: web}\n"),
        "inventory.yaml:12: lb/frontends/HTTP: 'HTTP' is not a valid frontend name; use lowercase letters, digits "
        "and '-', starting with a letter or digit, at most 40 characters (it is used in container labels and "
        "HAProxy names)",
    ),
    (
        "frontend without bind",
        lb("frontends:\n  http: {default: web}\n"),
        "inventory.yaml:12: lb/frontends/http: missing required key 'bind'",
    ),
    (
        "frontend bind out of range",
        lb("frontends:\n  http: {bind: 80000, default: web}\n"),
        "inventory.yaml:12: lb/frontends/http/bind: should be between 1 and 65535, got 80000",
    ),
    (
        "two frontends on one port",
        lb("frontends:\n  http: {bind: 80, default: web}\n  other:\n    bind: 80\n    default: web\n"),
        "inventory.yaml:14: lb/frontends/other/bind: port 80 is already bound by frontend http (line 12); "
        "give each frontend its own port",
    ),
    (
        "frontend that sends nowhere",
        lb("frontends:\n  http: {bind: 80}\n"),
        "inventory.yaml:12: lb/frontends/http: frontend 'http' sends requests nowhere; give it default: a service, "
        "or routes:",
    ),
    (
        "frontend with empty routes and no default",
        lb("frontends:\n  http: {bind: 80, routes: []}\n"),
        "inventory.yaml:12: lb/frontends/http: frontend 'http' sends requests nowhere; give it default: a service, "
        "or routes:",
    ),
    (
        "default names an unknown service",
        lb("frontends:\n  http:\n    bind: 80\n    default: wbe\n"),
        "inventory.yaml:14: lb/frontends/http/default: no service named 'wbe'; did you mean 'web'?",
    ),
    (
        "default when there are no services",
        HOSTS + "lb:\n  frontends:\n    http: {bind: 80, default: web}\n",
        "inventory.yaml:7: lb/frontends/http/default: no service named 'web'; add it under services:",
    ),
    (
        "default service without a port",
        lb("frontends:\n  http:\n    bind: 80\n    default: api\n"),
        "inventory.yaml:14: lb/frontends/http/default: service 'api' has no port; add port: to services/api "
        "(line 8) so the load balancer knows where to send requests",
    ),
    # -- lb: routes ------------------------------------------------------------
    (
        "routes as a mapping",
        lb("frontends:\n  http:\n    bind: 80\n    routes: {path: /api, service: api}\n"),
        "inventory.yaml:14: lb/frontends/http/routes: should be a list of routes such as {path: /api, service: api}, "
        "got a mapping",
    ),
    (
        "route without host or path",
        lb("frontends:\n  http:\n    bind: 80\n    routes:\n      - {service: web}\n"),
        "inventory.yaml:15: lb/frontends/http/routes[0]: give host:, path: or both, to say which requests go to "
        "this route's service",
    ),
    (
        "route without service",
        lb("frontends:\n  http:\n    bind: 80\n    routes:\n      - {path: /x}\n"),
        "inventory.yaml:15: lb/frontends/http/routes[0]: missing required key 'service'",
    ),
    (
        "route to an unknown service",
        lb("frontends:\n  http:\n    bind: 80\n    routes:\n      - path: /w\n        service: webb\n"),
        "inventory.yaml:16: lb/frontends/http/routes[0]/service: no service named 'webb'; did you mean 'web'?",
    ),
    (
        "route to a service without a port",
        lb("frontends:\n  http:\n    bind: 80\n    default: web\n    routes:\n      - {path: /api, service: api}\n"),
        "inventory.yaml:16: lb/frontends/http/routes[0]/service: service 'api' has no port; add port: to services/api "
        "(line 8) so the load balancer knows where to send requests",
    ),
    (
        "route path without a slash",
        lb("frontends:\n  http:\n    bind: 80\n    routes:\n      - {path: api, service: web}\n"),
        "inventory.yaml:15: lb/frontends/http/routes[0]/path: should be a URL path starting with '/', like /healthz, "
        "got 'api'",
    ),
    (
        "route path with a hash",
        lb("frontends:\n  http:\n    bind: 80\n    routes:\n      - {path: '/a#b', service: web}\n"),
        "inventory.yaml:15: lb/frontends/http/routes[0]/path: '#' is not allowed in a URL path; percent-encode it "
        "(a space is %20)",
    ),
    (
        "route host with a port",
        lb("frontends:\n  http:\n    bind: 80\n    routes:\n      - {host: 'example.com:8080', service: web}\n"),
        "inventory.yaml:15: lb/frontends/http/routes[0]/host: 'example.com:8080' contains a port; the frontend's "
        "bind: is the port, so write the host alone",
    ),
    (
        "route host not a DNS name",
        lb("frontends:\n  http:\n    bind: 80\n    routes:\n      - {host: 'api example.com', service: web}\n"),
        "inventory.yaml:15: lb/frontends/http/routes[0]/host: 'api example.com' is not a valid host name; "
        "write a DNS name such as api.example.com",
    ),
    (
        "same route twice",
        lb("frontends:\n  http:\n    bind: 80\n    routes:\n      - {host: a.example, path: /x, service: web}\n"
           "      - {host: A.example, path: /x, service: web}\n"),
        "inventory.yaml:16: lb/frontends/http/routes[1]: routes[0] already takes these requests (same host and path); "
        "remove one",
    ),
    # -- autoscale -------------------------------------------------------------
    (
        "autoscale without a target",
        web("image: nginx\nautoscale: {min: 1, max: 3}\n"),
        "inventory.yaml:8: services/web/autoscale: give a target: cpu: (a % of the service's cpus) and/or "
        "memory: (a % of its memory)",
    ),
    (
        "autoscale max below min",
        web("image: nginx\nautoscale:\n  min: 3\n  max: 2\n  cpu: 50\n"),
        "inventory.yaml:10: services/web/autoscale/max: max 2 is below min 3",
    ),
    (
        "a billion replicas",
        web("image: nginx\nreplicas: 1000000000\n"),
        "inventory.yaml:8: services/web/replicas: should be between 0 and 1000, got 1000000000",
    ),
    (
        "autoscale cpu target above 100 %",
        web("image: nginx\nresources: {cpus: 1}\nautoscale: {min: 1, max: 2, cpu: 500}\n"),
        "inventory.yaml:9: services/web/autoscale/cpu: should be at most 100, got 500",
    ),
    (
        "500 cpus",
        web("image: nginx\nresources: {cpus: 5000}\n"),
        "inventory.yaml:8: services/web/resources/cpus: should be at most 1024.0, got 5000",
    ),
    (
        "memory beyond any host",
        web("image: nginx\nresources: {memory: 5000000g}\n"),
        "inventory.yaml:8: services/web/resources/memory: 5000000g is more than 1 TiB; no host has that much",
    ),
    (
        "an infinite duration",
        web("image: nginx\nhealthcheck: {command: [true], interval: 1e400}\n"),
        "inventory.yaml:8: services/web/healthcheck/interval: should be a finite number, got 1e400",
    ),
    (
        "a duration over 30 days",
        web("image: nginx\nupdate: {monitor: 1000h}\n"),
        "inventory.yaml:8: services/web/update/monitor: should be at most 30 days, got 1000h",
    ),
    (
        "autoscale min zero",
        web("image: nginx\nautoscale: {min: 0, max: 2, cpu: 50}\n"),
        "inventory.yaml:8: services/web/autoscale/min: should be between 1 and 1000, got 0",
    ),
    (
        "memory target without a memory limit",
        web("image: nginx\nautoscale:\n  min: 1\n  max: 2\n  memory: 70\n"),
        "inventory.yaml:11: services/web/autoscale/memory: a memory target is a % of resources.memory; "
        "set that limit too",
    ),
    (
        "replicas outside the autoscale range",
        web("image: nginx\nreplicas: 9\nautoscale: {min: 1, max: 3, cpu: 50}\n"),
        "inventory.yaml:8: services/web/replicas: 9 is outside autoscale's range 1..3; change one, or leave "
        "replicas: out to start at min",
    ),
    (
        "tolerance above 1",
        web("image: nginx\nautoscale: {min: 1, max: 3, cpu: 50, tolerance: 2}\n"),
        "inventory.yaml:8: services/web/autoscale/tolerance: should be between 0 and 1, got 2",
    ),
    (
        "unknown autoscale key",
        web("image: nginx\nautoscale: {min: 1, max: 3, cpu: 50, target: 5}\n"),
        "inventory.yaml:8: services/web/autoscale/target: unknown key (allowed: min, max, cpu, memory, tolerance, "
        "scale_up_window, scale_down_window, max_step)",
    ),
    (
        "unknown route key",
        lb("frontends:\n  http:\n    bind: 80\n    routes:\n      - {prefix: /x, service: web}\n"),
        "inventory.yaml:15: lb/frontends/http/routes[0]/prefix: unknown key (allowed: host, path, service)",
    ),
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """An inventory folder, as the cwd, with an empty lab/ folder."""
    (tmp_path / "lab").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("text, message", [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_services_are_refused_with_location(folder, text, message):
    assert_refused(folder, text, message)


def test_case_ids_are_unique():
    ids = [case[0] for case in MALFORMED]
    assert len(ids) == len(set(ids))
