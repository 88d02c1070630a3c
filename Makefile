# The two commands of the README: `make demo` and `make test`.
# Both install what is missing (Debian packages, a virtualenv, kob itself) and are idempotent.

VENV         ?= .venv
PYTHON       ?= python3
KOB          := $(VENV)/bin/kob
APT_PACKAGES := docker.io openssh-server openssh-client haproxy etcd-server etcd-client \
                iproute2 busybox-static curl cron socat openssl python3-venv chromium
PYTEST_ARGS  ?=
DEMO_PORT    ?= 8080

.PHONY: demo test deps apt venv lab-down clean

demo: deps
	$(KOB) lab up
	$(KOB) exec inventory.yaml hostname
	$(KOB) deploy inventory.yaml --wait 30
	$(KOB) status inventory.yaml
	@echo; echo "web runs behind HAProxy on vm1: curl http://198.18.0.11/"; curl -s http://198.18.0.11/
	@echo; echo "and over HTTPS (HTTP/2), with the lab's self-signed certificate:"; \
	  echo "curl --cacert /var/lib/kob-lab/demo-tls.pem https://198.18.0.11/"; \
	  curl -s --http2 --cacert /var/lib/kob-lab/demo-tls.pem https://198.18.0.11/
	@echo; echo "the status page follows at http://127.0.0.1:$(DEMO_PORT)/ (kob serve: the page, reconcile and autoscale every 30 s; Ctrl-C stops)"
	$(KOB) serve inventory.yaml --bind 127.0.0.1:$(DEMO_PORT)

test: deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

deps: apt venv

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

lab-down:
	$(KOB) lab down

clean: lab-down
	rm -rf $(VENV) build dist *.egg-info
