"""Playbooks for kob run: what load_playbook returns, and each mistake with its exact one-line message."""

import textwrap

from pathlib import Path

import pytest

from kob.errors import SpecError
from kob.playbook.loader import MODULES, Play, Task, load_playbook


def tasks(body: str, handlers: str = "") -> str:
    """A one-play playbook whose tasks start on line 3 (and handlers follow them)."""
    text = "- hosts: all\n  tasks:\n" + textwrap.indent(textwrap.dedent(body), "    ")
    if handlers:
        text += "  handlers:\n" + textwrap.indent(textwrap.dedent(handlers), "    ")
    return text


def task(look):
    """Look at the first task of the first play."""
    return lambda plays: look(plays[0].tasks[0])


FULL = textwrap.dedent("""\
    - name: web servers
      hosts: web:!vm3
      vars: {port: 8080, ratio: 0.5, debug: false, mode: 0644, answer: yes, list: [1, a], nested: {k: v}}
      vars_files: vars/common.yml
      gather_facts: false
      serial: 2
      tags: [web]
      become: true
      become_user: root
      tasks:
        - name: install nginx
          apt: {name: nginx, state: present, update_cache: true}
          notify: restart nginx
        - shell: echo {{ port }} > /tmp/port
          when: [port > 80, "{{ debug }}"]
          register: port_file
          tags: setup
          ignore_errors: true
          changed_when: false
          failed_when: port_file.rc > 1
          vars: {extra: 1}
          become: true
      handlers:
        - name: restart nginx
          ansible.builtin.service: {name: nginx, state: restarted}
          notify: [reload haproxy]
        - name: reload haproxy
          command: systemctl reload haproxy
    - hosts: db
    """)

# (id, playbook text, what to look at, expected)
VALID = [
    ("args: merged into the module's", tasks("- command: touch /x\n  args: {creates: /x, chdir: /tmp}\n"),
     task(lambda t: dict(t.args)), {"_raw": "touch /x", "creates": "/x", "chdir": "/tmp"}),
    ("a whole play", FULL, lambda plays: plays[0],
     Play(hosts="web:!vm3", name="web servers",
          vars={"port": 8080, "ratio": 0.5, "debug": False, "mode": "0644", "answer": True, "list": [1, "a"],
                "nested": {"k": "v"}, "region": "eu", "common": True},
          vars_files=("vars/common.yml",), gather_facts=False, serial=2, tags=("web",), become=True, line=1,
          become_user="root",
          tasks=(Task(module="apt", args={"name": "nginx", "state": "present", "update_cache": True},
                      name="install nginx", notify=("restart nginx",), file="playbook.yml", line=11),
                 Task(module="shell", args={"_raw": "echo {{ port }} > /tmp/port"}, when=("port > 80", "debug"),
                      register="port_file", tags=("setup",), ignore_errors=True, changed_when=("False",),
                      failed_when=("port_file.rc > 1",), vars={"extra": 1}, file="playbook.yml", line=14,
                      become=True)),
          handlers=(Task(module="service", args={"name": "nginx", "state": "restarted"}, name="restart nginx",
                         notify=("reload haproxy",), file="playbook.yml", line=24),
                    Task(module="command", args={"_raw": "systemctl reload haproxy"}, name="reload haproxy",
                         file="playbook.yml", line=27)), base=Path("."))),
    ("play defaults", FULL, lambda plays: plays[1], Play(hosts="db", line=29, base=Path("."))),
    # -- the keywords of issue 15 ---------------------------------------------------------
    ("until, retries and delay", tasks("- command: ls\n  register: r\n  until: r.rc == 0\n  retries: 2\n  delay: 0\n"),
     task(lambda t: (t.until, t.retries, t.delay)), (("r.rc == 0",), 2, 0)),
    ("until alone: Ansible's defaults", tasks("- command: ls\n  until: true\n"),
     task(lambda t: (t.until, t.retries, t.delay)), (("True",), None, 5)),
    ("loop_control", tasks("- debug:\n  loop: [a]\n  loop_control: {loop_var: u, index_var: i, label: '{{ u }}', "
                           "pause: 0.5}\n"),
     task(lambda t: (t.loop_var, t.index_var, t.label, t.loop_pause)), ("u", "i", "{{ u }}", 0.5)),
    ("with_dict", tasks("- debug:\n  with_dict: '{{ users }}'\n"), task(lambda t: (t.loop, t.loop_dict)),
     ("{{ users }}", True)),
    ("with_items flattens", tasks("- debug:\n  with_items: [[a], b]\n"), task(lambda t: (t.loop, t.loop_flatten)),
     ([["a"], "b"], True)),
    ("delegate_to and run_once", tasks("- command: ls\n  delegate_to: localhost\n  run_once: yes\n"),
     task(lambda t: (t.delegate_to, t.run_once)), ("localhost", True)),
    ("environment of play, block and task merged", "- hosts: all\n  environment: {A: play, B: play}\n  tasks:\n"
     "    - block:\n        - command: env\n          environment: {C: task}\n      environment: {B: block}\n",
     lambda plays: dict(plays[0].tasks[0].tasks[0].environment), {"A": "play", "B": "block", "C": "task"}),
    ("diff, any_errors_fatal and no_log", "- hosts: all\n  any_errors_fatal: true\n  diff: yes\n  tasks:\n"
     "    - command: ls\n      diff: no\n      no_log: true\n",
     lambda plays: (plays[0].tasks[0].diff, plays[0].tasks[0].any_errors_fatal, plays[0].tasks[0].no_log),
     (False, True, True)),
    ("serial as a share, max_fail_percentage", "- hosts: all\n  serial: 30%\n  max_fail_percentage: 20\n",
     lambda plays: (plays[0].serial, plays[0].serial_percent, plays[0].max_fail_percentage), (None, 30.0, 20.0)),
    ("include_vars free form and meta end_host", tasks("- include_vars: vars/common.yml\n- meta: end_host\n"),
     lambda plays: [(t.module, dict(t.args)) for t in plays[0].tasks],
     [("include_vars", {"_raw": "vars/common.yml"}), ("meta", {"_raw": "end_host"})]),
    ("hosts as a list", "- hosts: [web, db]\n", lambda plays: plays[0].hosts, "web,db"),
    ("plays in file order", FULL, lambda plays: [p.hosts for p in plays], ["web:!vm3", "db"]),
    # -- module arguments ------------------------------------------------------------
    ("free-form command", tasks("- command: ls -l '/tmp/a b'\n"), task(lambda t: (t.module, t.args)),
     ("command", {"_raw": "ls -l '/tmp/a b'"})),
    ("command with cmd and chdir", tasks("- command: {cmd: make, chdir: /src, creates: /src/a.out}\n"),
     task(lambda t: t.args), {"cmd": "make", "chdir": "/src", "creates": "/src/a.out"}),
    ("command with argv", tasks("- command: {argv: [echo, 'a b']}\n"), task(lambda t: t.args),
     {"argv": ["echo", "a b"]}),
    ("key=value args split like a shell", tasks("- copy: src=a.conf dest='/etc/a b.conf' mode=0644\n"),
     task(lambda t: t.args), {"src": "a.conf", "dest": "/etc/a b.conf", "mode": "0644"}),
    ("key=value args with an empty value", tasks("- debug: msg=\n"), task(lambda t: t.args), {"msg": ""}),
    ("module without arguments", tasks("- debug:\n"), task(lambda t: (t.module, t.args)), ("debug", {})),
    ("set_fact takes any keys", tasks("- set_fact: {anything: 1, other: [x]}\n"), task(lambda t: t.args),
     {"anything": 1, "other": ["x"]}),
    ("set_fact as key=value", tasks("- set_fact: a=1 b=two\n"), task(lambda t: t.args), {"a": "1", "b": "two"}),
    ("templated state is left to run time", tasks("- file: {path: /a, state: '{{ wanted }}'}\n"),
     task(lambda t: t.args["state"]), "{{ wanted }}"),
    ("values keep their types", tasks("- debug: {msg: [1, -2, 1.5, 1e3, true, FALSE, no, '7', 007, ~]}\n"),
     task(lambda t: t.args["msg"]), [1, -2, 1.5, 1000.0, True, False, False, "7", "007", None]),
    # -- aliases -----------------------------------------------------------------------
    ("ansible.builtin alias", tasks("- ansible.builtin.shell: uptime\n"), task(lambda t: (t.module, t.args)),
     ("shell", {"_raw": "uptime"})),
    ("ansible.legacy alias", tasks("- ansible.legacy.file: path=/a state=touch\n"),
     task(lambda t: (t.module, t.args)), ("file", {"path": "/a", "state": "touch"})),
    # -- conditions ----------------------------------------------------------------------
    ("when as a string", tasks("- debug:\n  when: x is defined\n"), task(lambda t: t.when), ("x is defined",)),
    ("when wrapped in braces", tasks("- debug:\n  when: '{{ x }}'\n"), task(lambda t: t.when), ("x",)),
    ("when as a list", tasks("- debug:\n  when: [a, b == 1]\n"), task(lambda t: t.when), ("a", "b == 1")),
    ("when true", tasks("- debug:\n  when: true\n"), task(lambda t: t.when), ("True",)),
    ("when false in a list", tasks("- debug:\n  when: [false, a]\n"), task(lambda t: t.when), ("False", "a")),
    ("changed_when true", tasks("- debug:\n  changed_when: true\n"), task(lambda t: t.changed_when), ("True",)),
    ("no conditions", tasks("- debug:\n"), task(lambda t: (t.when, t.changed_when, t.failed_when)), ((), None, None)),
    # -- loops, notify, tags -------------------------------------------------------------------
    ("loop as a list", tasks("- debug: {msg: '{{ item }}'}\n  loop: [a, 2]\n"), task(lambda t: t.loop), ["a", 2]),
    ("loop as a template", tasks("- debug:\n  loop: '{{ users }}'\n"), task(lambda t: t.loop), "{{ users }}"),
    ("with_items is loop", tasks("- debug:\n  with_items: [{name: a}]\n"), task(lambda t: t.loop), [{"name": "a"}]),
    ("notify as a list", tasks("- debug:\n  notify: [a, b]\n", "- {name: a, debug: }\n- {name: b, debug: }\n"),
     task(lambda t: t.notify), ("a", "b")),
    ("a handler notified by a later one", tasks("- debug:\n",
                                                "- {name: a, debug: , notify: b}\n- {name: b, debug: }\n"),
     lambda plays: [h.notify for h in plays[0].handlers], [("b",), ()]),
    ("tags as a string", tasks("- debug:\n  tags: deploy\n"), task(lambda t: t.tags), ("deploy",)),
    # -- booleans as Ansible reads them (YAML 1.1 and its own words) ---------------------------
    ("play booleans yes/no", "- hosts: all\n  gather_facts: no\n  become: yes\n  check_mode: On\n",
     lambda plays: (plays[0].gather_facts, plays[0].become, plays[0].check_mode), (False, True, True)),
    ("play booleans quoted and Title case", "- hosts: all\n  gather_facts: 'False'\n  become: \"yes\"\n",
     lambda plays: (plays[0].gather_facts, plays[0].become, plays[0].check_mode), (False, True, None)),
    ("task booleans", tasks("- debug:\n  ignore_errors: yes\n  check_mode: no\n  run_once: True\n  become: on\n"),
     task(lambda t: (t.ignore_errors, t.check_mode, t.run_once)), (True, False, True)),
    ("task booleans 1/0 and y", tasks("- debug:\n  ignore_errors: 1\n  run_once: y\n"),
     task(lambda t: (t.ignore_errors, t.run_once, t.check_mode)), (True, True, None)),
    ("YAML 1.1 booleans in vars", "- hosts: all\n  vars: {a: yes, b: No, c: OFF, d: on, e: y, f: 'yes', g: n, h: yEs}\n",
     lambda plays: plays[0].vars, {"a": True, "b": False, "c": False, "d": True, "e": "y", "f": "yes", "g": "n",
                                   "h": "yEs"}),
    ("YAML 1.1 booleans in module args and when", tasks("- debug: {msg: [off, On]}\n  when: yes\n"),
     task(lambda t: (t.args["msg"], t.when)), ([False, True], ("True",))),
    # -- vars_files --------------------------------------------------------------------------------
    ("later vars files win", "- hosts: all\n  vars_files: [vars/common.yml, vars/override.yml]\n",
     lambda plays: plays[0].vars, {"region": "us", "common": True, "extra": [1]}),
    ("vars files win over play vars", "- hosts: all\n  vars: {region: local, own: 1}\n  vars_files: vars/common.yml\n",
     lambda plays: plays[0].vars, {"region": "eu", "own": 1, "common": True}),
]

ALLOWED_COPY = "(copy takes: content, src, dest, mode, owner, group, validate, backup, force)"
UNSUPPORTED = "is not supported by kob run (yet); remove it or use kob's own commands"
MODULE_LIST = ", ".join(MODULES)

MALFORMED = [
    ("args: not a mapping", tasks("- command: ls\n  args: creates=/x\n"),
     "playbook.yml:4: [0]/tasks[0]/args: args should be a mapping of command's arguments, e.g. {creates: /path}"),
    # -- the playbook and its plays --------------------------------------------------------
    ("empty file", "", "playbook.yml: empty file; expected a list of plays"),
    ("empty list", "[]\n", "playbook.yml:1: a playbook needs at least one play, e.g. - hosts: all"),
    ("a mapping instead of a list", "hosts: all\n",
     "playbook.yml:1: should be a list of plays, each a mapping with hosts: and tasks:, got a mapping"),
    ("a play as a string", "- all\n", "playbook.yml:1: [0]: should be a play: a mapping with hosts: and tasks:, "
     "got 'all'"),
    ("play without hosts", "- name: x\n  tasks: []\n", "playbook.yml:1: [0]: missing required key 'hosts'"),
    ("missing hosts is found before a bad task", "- tasks: [{shel: ls}]\n",
     "playbook.yml:1: [0]: missing required key 'hosts'"),
    ("second play without hosts", "- hosts: all\n- name: x\n", "playbook.yml:2: [1]: missing required key 'hosts'"),
    ("unknown play key", "- hosts: all\n  task: []\n",
     "playbook.yml:2: [0]/task: unknown key; did you mean 'tasks'? (allowed: hosts, name, vars, vars_files, "
     "pre_tasks, roles, tasks, post_tasks, handlers, gather_facts, serial, tags, become, become_user, check_mode, "
     "remote_user, diff, environment, any_errors_fatal, max_fail_percentage, strategy)"),
    ("a role not found", "- hosts: all\n  roles: [web]\n", "playbook.yml:2: [0]/roles[0]: role 'web' not found"),
    ("import_playbook of a missing file", "- import_playbook: other.yml\n",
     "playbook.yml:1: [0]/import_playbook: playbook other.yml not found"),
    ("import_playbook with when", "- import_playbook: other.yml\n  when: x\n",
     "playbook.yml:2: [0]/when: kob run takes import_playbook: with name: only, not when; put when on the imported "
     "playbook's plays"),
    ("serial zero", "- hosts: all\n  serial: 0\n",
     "playbook.yml:2: [0]/serial: serial should be a number of hosts >= 1 or a share such as 30%, got '0'; "
     "kob run does not take a list of batch sizes"),
    ("serial above 100%", "- hosts: all\n  serial: 130%\n",
     "playbook.yml:2: [0]/serial: serial should be a number of hosts >= 1 or a share such as 30%, got '130%'; "
     "kob run does not take a list of batch sizes"),
    ("strategy free", "- hosts: all\n  strategy: free\n",
     "playbook.yml:2: [0]/strategy: kob run runs plays as Ansible's linear strategy does, not 'free'; leave "
     "strategy: out (serial: runs hosts in batches)"),
    ("max_fail_percentage above 100", "- hosts: all\n  max_fail_percentage: 101\n",
     "playbook.yml:2: [0]/max_fail_percentage: should be between 0 and 100, got 101"),
    ("until on a play", "- hosts: all\n  until: x\n",
     "playbook.yml:2: [0]/until: until is taken on a task, not on a play, by kob run; set it on the tasks"),
    ("gather_facts maybe", "- hosts: all\n  gather_facts: maybe\n",
     "playbook.yml:2: [0]/gather_facts: should be true or false (yes/no, on/off), got 'maybe'"),
    ("become templated", "- hosts: all\n  become: '{{ b }}'\n",
     "playbook.yml:2: [0]/become: kob run takes true or false here, not a template; set the value in the playbook"),
    ("run_once on a play", "- hosts: all\n  run_once: true\n",
     "playbook.yml:2: [0]/run_once: run_once is taken on a task, not on a play, by kob run; set it on the tasks"),
    ("tasks as a mapping", "- hosts: all\n  tasks: {shell: ls}\n",
     "playbook.yml:2: [0]/tasks: should be a list of tasks, got a mapping"),
    # -- vars_files ------------------------------------------------------------------------------
    ("missing vars file", "- hosts: all\n  vars_files: [vars/common.yml, vars/nope.yml]\n",
     "playbook.yml:2: [0]/vars_files[1]: vars file vars/nope.yml not found "
     "(relative paths start at the folder of this file)"),
    ("vars file not a mapping", "- hosts: all\n  vars_files: vars/list.yml\n",
     "vars/list.yml:1: should be a mapping of variables, got a list"),
    # -- modules ------------------------------------------------------------------------------------
    ("no module", tasks("- name: nothing\n  when: x\n"),
     "playbook.yml:3: [0]/tasks[0]: a task needs one module, e.g. shell: or copy:"),
    ("two modules", tasks("- shell: ls\n  copy: {src: a, dest: b}\n"),
     "playbook.yml:4: [0]/tasks[0]/copy: a task has one module, but shell: is given too (line 3); "
     "split it into two tasks"),
    ("unknown module with suggestion", tasks("- shel: ls\n"),
     "playbook.yml:3: [0]/tasks[0]/shel: unknown module or task key; did you mean 'shell'?"),
    ("misspelt task key", tasks("- shell: ls\n  regster: out\n"),
     "playbook.yml:4: [0]/tasks[0]/regster: unknown module or task key; did you mean 'register'?"),
    ("unknown aliased module keeps its prefix", tasks("- ansible.builtin.templat: {src: a, dest: b}\n"),
     "playbook.yml:3: [0]/tasks[0]/ansible.builtin.templat: unknown module or task key; "
     "did you mean 'ansible.builtin.template'?"),
    ("unknown module without suggestion", tasks("- yum: {name: x}\n"),
     f"playbook.yml:3: [0]/tasks[0]/yum: unknown module or task key (modules: {MODULE_LIST})"),
    ("unknown module argument", tasks("- copy: {src: a, dst: b}\n"),
     f"playbook.yml:3: [0]/tasks[0]/copy/dst: unknown argument of copy; did you mean 'dest'? {ALLOWED_COPY}"),
    ("unknown key=value argument", tasks("- copy: src=a mirror=yes\n"),
     f"playbook.yml:3: [0]/tasks[0]/copy: unknown argument of copy {ALLOWED_COPY}"),
    ("free form for a module without one", tasks("- copy: a.conf\n"),
     "playbook.yml:3: [0]/tasks[0]/copy: 'a.conf' is not key=value; write copy's arguments as key=value pairs "
     "or a mapping"),
    ("key=value given twice", tasks("- file: path=a path=b\n"),
     "playbook.yml:3: [0]/tasks[0]/file: path= is given twice; remove one"),
    ("key=value with an open quote", tasks("- file: path='a\n"),
     "playbook.yml:3: [0]/tasks[0]/file: cannot split \"path='a\" into key=value pairs (No closing quotation); "
     "fix the quoting"),
    ("_raw is not written by hand", tasks("- shell: {_raw: ls}\n"),
     "playbook.yml:3: [0]/tasks[0]/shell/_raw: unknown argument of shell "
     "(shell takes: cmd, chdir, creates, removes, stdin)"),
    ("arguments as a list", tasks("- apt: [nginx]\n"),
     "playbook.yml:3: [0]/tasks[0]/apt: should be apt's arguments, got a list"),
    ("unknown state", tasks("- service: {name: nginx, state: restart}\n"),
     "playbook.yml:3: [0]/tasks[0]/service/state: state should be one of started, stopped, restarted, reloaded, "
     "got 'restart'; did you mean 'restarted'?"),
    ("unknown key=value state", tasks("- apt: name=nginx state=installed\n"),
     "playbook.yml:3: [0]/tasks[0]/apt: state should be one of present, absent, latest, got 'installed'"),
    # -- unsupported keys ------------------------------------------------------------------------------
    ("include", tasks("- include: more.yml\n"), "playbook.yml:3: [0]/tasks[0]/include: include is not supported "
     "by kob run (yet); write import_tasks: (read at load) or include_tasks: (read when reached)"),
    ("async", tasks("- shell: sleep 100\n  async: 200\n  poll: 0\n"), "playbook.yml:4: [0]/tasks[0]/async: async is "
     "not supported by kob run (yet); run it in the foreground (leave out async: and poll:), or start it detached "
     "with shell: nohup CMD >/dev/null 2>&1 &"),
    ("local_action", tasks("- local_action: {module: command, cmd: ls}\n"), "playbook.yml:3: [0]/tasks[0]/"
     "local_action: local_action is not supported by kob run (yet); write the module as usual and add "
     "delegate_to: localhost"),
    ("setup", tasks("- setup: {gather_subset: [network]}\n"), "playbook.yml:3: [0]/tasks[0]/setup: setup is not "
     "supported by kob run (yet); facts are gathered when a play starts (gather_facts: true); refer to them as "
     "ansible_facts.NAME"),
    ("with_fileglob", tasks("- debug:\n  with_fileglob: ['*.conf']\n"), "playbook.yml:4: [0]/tasks[0]/"
     "with_fileglob: with_fileglob is not supported by kob run (yet); list the files in loop:"),
    ("poll alone", tasks("- shell: sleep 1\n  poll: 5\n"), "playbook.yml:4: [0]/tasks[0]/poll: poll is not supported "
     "by kob run (yet); run it in the foreground (leave out async: and poll:)"),
    ("with_list", tasks("- debug:\n  with_list: [1, 2]\n"), "playbook.yml:4: [0]/tasks[0]/with_list: with_list is "
     "not supported by kob run (yet); write loop: with the same list"),
    ("with_indexed_items", tasks("- debug:\n  with_indexed_items: [a]\n"), "playbook.yml:4: [0]/tasks[0]/"
     "with_indexed_items: with_indexed_items is not supported by kob run (yet); write loop: with loop_control: "
     "{index_var: index} and use index and item"),
    ("with_file: Ansible's lookup loop", tasks("- debug:\n  with_file: [a.txt]\n"), "playbook.yml:4: [0]/tasks[0]/"
     "with_file: with_file is not supported by kob run (yet); write loop: \"{{ query('file', ...) }}\" if kob run "
     "has that lookup (it has file, env, template and vars), or list the values in loop:"),
    ("with_ of a lookup kob lacks", tasks("- debug:\n  with_inventory_hostnames: all\n"),
     "playbook.yml:4: [0]/tasks[0]/with_inventory_hostnames: with_inventory_hostnames is not supported by kob run "
     "(yet); write loop: \"{{ query('inventory_hostnames', ...) }}\" if kob run has that lookup (it has file, env, "
     "template and vars), or list the values in loop:"),
    ("loop_control without a loop", tasks("- debug:\n  loop_control: {loop_var: x}\n"),
     "playbook.yml:4: [0]/tasks[0]/loop_control: loop_control: needs a loop: on the same task"),
    ("loop_control extended", tasks("- debug:\n  loop: [1]\n  loop_control: {extended: true}\n"),
     "playbook.yml:5: [0]/tasks[0]/loop_control/extended: loop_control: extended is not taken by kob run (it "
     "takes loop_var, index_var, label, pause)"),
    ("environment as a list", tasks("- debug:\n  environment: [A]\n"),
     "playbook.yml:4: [0]/tasks[0]/environment: environment should be a mapping such as {PATH: /opt/bin:/usr/bin}; "
     "kob run does not take a template or a list here"),
    ("retries templated", tasks("- debug:\n  until: x\n  retries: '{{ n }}'\n"),
     "playbook.yml:5: [0]/tasks[0]/retries: should be a whole number of retries, got '{{ n }}'"),
    ("an unknown lookup", tasks("- debug: {msg: \"{{ lookup('pipe', 'id') }}\"}\n"),
     "playbook.yml:3: [0]/tasks[0]/debug/msg: cannot read the template: lookup('pipe') is not supported by kob run; "
     "it has the lookups file, env, template, vars (for others, put the value in vars:, vars_files: or -e)"),
    ("listen on a task", tasks("- debug:\n  listen: topic\n"), "playbook.yml:4: [0]/tasks[0]/listen: listen: belongs "
     "to a handler (under handlers:); a task notifies with notify:"),
    ("meta end_batch", tasks("- meta: end_batch\n"), "playbook.yml:3: [0]/tasks[0]/meta: meta: 'end_batch' is not "
     "supported by kob run (yet); it takes flush_handlers, noop, end_play, end_host"),
    ("include_tasks of a missing file", tasks("- include_tasks: more.yml\n"),
     "playbook.yml:3: [0]/tasks[0]/include_tasks: tasks file more.yml not found"),
    ("import_tasks as an alias", tasks("- ansible.builtin.import_tasks: more.yml\n"),
     "playbook.yml:3: [0]/tasks[0]/ansible.builtin.import_tasks: tasks file more.yml not found"),
    # -- task keys ------------------------------------------------------------------------------------------
    ("task as a string", tasks("- shell ls\n"),
     "playbook.yml:3: [0]/tasks[0]: should be a task: a mapping such as {name: ..., shell: ...}, got 'shell ls'"),
    ("loop and with_items", tasks("- debug:\n  loop: [a]\n  with_items: [b]\n"),
     "playbook.yml:5: [0]/tasks[0]/with_items: give one of loop:, with_items:, with_dict:, not several"),
    ("loop as a mapping", tasks("- debug:\n  loop: {a: 1}\n"),
     "playbook.yml:4: [0]/tasks[0]/loop: should be a list or a string such as '{{ items }}', got a mapping"),
    ("register not a name", tasks("- debug:\n  register: my-result\n"),
     "playbook.yml:4: [0]/tasks[0]/register: should be a variable name such as result, got 'my-result'"),
    ("ignore_errors a list", tasks("- debug:\n  ignore_errors: [yes]\n"),
     "playbook.yml:4: [0]/tasks[0]/ignore_errors: should be true or false (yes/no, on/off), got a list"),
    ("check_mode maybe", tasks("- debug:\n  check_mode: maybe\n"),
     "playbook.yml:4: [0]/tasks[0]/check_mode: should be true or false (yes/no, on/off), got 'maybe'"),
    ("when as a mapping", tasks("- debug:\n  when: {a: 1}\n"),
     "playbook.yml:4: [0]/tasks[0]/when: should be a string or a list of strings, got a mapping"),
    # -- handlers ---------------------------------------------------------------------------------------------
    ("notify of an unknown handler", tasks("- debug:\n  notify: [restart ngnix]\n",
                                           "- {name: restart nginx, debug: }\n"),
     "playbook.yml:4: [0]/tasks[0]/notify[0]: no handler named 'restart ngnix' in this play; "
     "did you mean 'restart nginx'? (handlers: restart nginx)"),
    ("notify without handlers", tasks("- debug:\n  notify: restart\n"),
     "playbook.yml:4: [0]/tasks[0]/notify: no handler named 'restart' in this play; add it under handlers:"),
    ("handler without a name", tasks("- debug:\n", "- service: name=x state=started\n"),
     "playbook.yml:5: [0]/handlers[0]: a handler needs a name: (or listen:) so that notify: can name it"),
    ("handler defined twice", tasks("- debug:\n", "- {name: a, debug: }\n- {name: a, debug: }\n"),
     "playbook.yml:6: [0]/handlers[1]/name: handler 'a' is defined twice in this play (first at line 5); rename one"),
    ("handler notifying an unknown handler", tasks("- debug:\n", "- {name: a, debug: , notify: b}\n"),
     "playbook.yml:5: [0]/handlers[0]/notify: no handler named 'b' in this play (handlers: a)"),
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vars").mkdir()
    (tmp_path / "vars" / "common.yml").write_text("region: eu\ncommon: true\n")
    (tmp_path / "vars" / "override.yml").write_text("region: us\nextra: [1]\n")
    (tmp_path / "vars" / "list.yml").write_text("- a\n")
    return tmp_path


@pytest.mark.parametrize("text, look, expected", [case[1:] for case in VALID], ids=[case[0] for case in VALID])
def test_valid_playbooks(folder, text, look, expected):
    (folder / "playbook.yml").write_text(text)
    assert look(load_playbook("playbook.yml")) == expected


@pytest.mark.parametrize("text, message", [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_playbooks_are_refused_with_location(folder, text, message):
    (folder / "playbook.yml").write_text(text)
    with pytest.raises(SpecError) as caught:
        load_playbook("playbook.yml")
    if message.endswith("not found"):  # then the folders it looked in, which depend on the test's folder
        assert str(caught.value).startswith(message + " (looked in ")
    else:
        assert str(caught.value) == message


def test_case_ids_are_unique():
    ids = [case[0] for case in VALID + MALFORMED]
    assert len(ids) == len(set(ids))


def test_vars_files_are_relative_to_the_playbook_folder(folder):
    (folder / "site").mkdir()
    (folder / "site" / "vars.yml").write_text("where: site\n")
    (folder / "site" / "play.yml").write_text("- hosts: all\n  vars_files: [vars.yml]\n")
    assert load_playbook(folder / "site" / "play.yml")[0].vars == {"where": "site"}


def test_a_missing_playbook_is_a_spec_error(folder):
    with pytest.raises(SpecError, match=r"^nope\.yml: no such file$"):
        load_playbook("nope.yml")


def test_model_is_frozen(folder):
    (folder / "playbook.yml").write_text(FULL)
    play = load_playbook("playbook.yml")[0]
    with pytest.raises(AttributeError):
        play.hosts = "all"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        play.tasks[0].module = "shell"  # type: ignore[misc]


# (id, playbook text, vars file text or None, the error) — a bad name is never shown
BAD_NAMES = [
    ("space in a vars name", "- hosts: all\n  vars: {'my var': 1}\n  tasks: []\n", None,
     "site.yml:2: [0]/vars: a variable name should be letters"),
    ("digit first", "- hosts: all\n  vars:\n    1st: x\n  tasks: []\n", None, "site.yml:3: [0]/vars: a variable name"),
    ("keyword", "- hosts: all\n  vars: {class: x}\n  tasks: []\n", None, "site.yml:2: [0]/vars: a variable name"),
    ("a shadow file as vars_files", "- hosts: all\n  vars_files: [vars.yml]\n  tasks: []\n",
     "root:$6$c2FsdA$aGFzaGhhc2g: 19000\n", "vars.yml:1: a variable name should be letters"),
]


@pytest.mark.parametrize("text, vars_text, message", [c[1:] for c in BAD_NAMES], ids=[c[0] for c in BAD_NAMES])
def test_bad_variable_names_are_refused_without_showing_them(folder, text, vars_text, message):
    (folder / "site.yml").write_text(text)
    if vars_text is not None:
        (folder / "vars.yml").write_text(vars_text)
    with pytest.raises(SpecError) as refused:
        load_playbook("site.yml")
    assert message in str(refused.value)
    assert "$6$" not in str(refused.value) and "my var" not in str(refused.value)


@pytest.mark.parametrize("text, message", [
    ('{"my var": 1}', "'my var' is not a variable name"),
    ('{"import": 1}', "'import' is not a variable name"),
    ("x='abc", "No closing quotation"),
    ("1x=2", "write key=value"),
])
def test_bad_extra_vars_are_one_line(text, message):
    from kob.errors import KobError
    from kob.playbook.invocation import extra_vars

    with pytest.raises(KobError, match=message):
        extra_vars((text,))


# (id, tasks body, the error) — mistakes found when the playbook loads, before any host is asked
AT_LOAD = [
    ("when: bad syntax", "- shell: true\n  when: x ==\n", "playbook.yml:4: [0]/tasks[0]/when: cannot read the condition"),
    ("when: list item bad syntax", "- shell: true\n  when: [a, 'b )']\n", "cannot read the condition 'b )'"),
    ("changed_when bad syntax", "- shell: true\n  changed_when: '{{ x }'\n", "changed_when: cannot read the"),
    ("loop over a plain string", "- debug: {msg: x}\n  loop: abc\n",
     "playbook.yml:4: [0]/tasks[0]/loop: should be a list, or an expression such as '{{ items }}'"),
    ("loop template syntax", "- debug: {msg: x}\n  loop: '{{ items | }}'\n", "cannot read the template"),
    ("args template syntax", "- copy: {content: '{{ x', dest: /tmp/x}\n", "cannot read the template"),
    ("free-form template syntax", "- shell: echo {% if x %}\n", "cannot read the template"),
    ("key=value template syntax", "- file: path={{x state=touch\n", "cannot read the template"),
    ("wait_for timeout not a number", "- wait_for: port=80 timeout=soon\n",
     "wait_for's timeout should be a whole number, got 'soon'"),
    ("service enabled not a boolean", "- service: {name: x, enabled: maybe}\n",
     "service's enabled should be true or false (yes/no, on/off), got 'maybe'"),
    ("set_fact name", "- set_fact: {'a b': 1}\n", "set_fact: 'a b' is not a variable name"),
]


@pytest.mark.parametrize("body, message", [c[1:] for c in AT_LOAD], ids=[c[0] for c in AT_LOAD])
def test_mistakes_are_found_at_load(folder, body, message):
    (folder / "playbook.yml").write_text(tasks(body))
    with pytest.raises(SpecError) as refused:
        load_playbook("playbook.yml")
    assert message in str(refused.value)


@pytest.mark.parametrize("body, args", [
    ("- service: name=x enabled=no\n", {"name": "x", "enabled": False}),
    ("- service: {name: x, enabled: yes}\n", {"name": "x", "enabled": True}),
    ("- apt: name=curl update_cache=On\n", {"name": "curl", "update_cache": True}),
    ("- wait_for: port=80 timeout=5\n", {"port": 80, "timeout": 5}),
    ("- wait_for: {port: '{{ p }}'}\n", {"port": "{{ p }}"}),
])
def test_typed_arguments_are_converted_as_ansible_does(folder, body, args):
    (folder / "playbook.yml").write_text(tasks(body))
    assert dict(load_playbook("playbook.yml")[0].tasks[0].args) == args
