"""Roles, blocks, imports and includes as the loader reads them: what a play holds, and each refusal at file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kob.errors import SpecError
from kob.playbook.loader import Block, Include, Task, load_playbook, walk_tasks

ROLES = {
    "roles/web/defaults/main.yml": "port: 80\nroot: /srv\n",
    "roles/web/vars/main.yml": "home: '{{ root }}/web'\n",
    "roles/web/meta/main.yml": "galaxy_info: {author: me}\ndependencies: [{role: common, level: 2}]\n",
    "roles/web/tasks/main.yml": "- name: web task\n  debug: {msg: '{{ port }}'}\n- import_tasks: extra.yml\n",
    "roles/web/tasks/extra.yml": "- name: web extra\n  debug:\n",
    "roles/web/tasks/other.yml": "- name: web other\n  debug:\n",
    "roles/web/handlers/main.yml": "- name: restart web\n  debug:\n- name: reload\n  debug:\n  listen: web changed\n",
    "roles/common/defaults/main.yml": "level: 1\nroot: /opt\n",
    "roles/common/tasks/main.yml": "- name: common task\n  debug:\n",
    "tasks/more.yml": "- name: more one\n  debug:\n  notify: web changed\n- name: more two\n  debug:\n",
    "tasks/empty.yml": "",
    "tasks/self.yml": "- import_tasks: self.yml\n",
}


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANSIBLE_ROLES_PATH", raising=False)
    monkeypatch.delenv("KOB_ROLES_PATH", raising=False)
    for name, text in ROLES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def load(folder: Path, text: str):
    (folder / "site.yml").write_text(textwrap.dedent(text))
    return load_playbook("site.yml")[0]


def names(items) -> list[str]:
    return [t.name or t.module for t in walk_tasks(items)]


def test_roles_their_dependencies_defaults_vars_params_and_handlers(folder):
    play = load(folder, """\
        - hosts: all
          pre_tasks: [{name: first, debug: }]
          roles:
            - role: web
              port: 8080
              when: ready
              tags: [w]
          tasks: [{name: own, debug: , notify: [restart web, web changed, "web : reload"]}]
          post_tasks: [{name: last, debug: }]
          handlers: [{name: mine, debug: }]
        """)
    assert names(play.pre_tasks) == ["first"] and names(play.post_tasks) == ["last"]
    assert names(play.tasks) == ["common task", "web task", "web extra", "own"]
    common, web = walk_tasks(play.tasks)[:2]
    assert common.when == web.when == ("ready",) and common.tags == web.tags == ("w",)  # a dependency inherits them
    assert (common.role.name, common.params, dict(common.defaults)) == ("common", {"level": 2},
                                                                        {"level": 1, "root": "/opt"})
    assert (web.role.name, web.params, dict(web.defaults), dict(web.vars)) == (
        "web", {"port": 8080}, {"port": 80, "root": "/srv"}, {"home": "{{ root }}/web"})
    assert [(h.name, h.listen) for h in play.handlers] == [("restart web", ()), ("reload", ("web changed",)),
                                                          ("mine", ())]
    assert dict(play.role_defaults) == {"level": 1, "root": "/srv", "port": 80}  # every role's, for every task


def test_blocks_pass_their_keywords_on(folder):
    play = load(folder, """\
        - hosts: all
          tasks:
            - block:
                - {name: inner, debug: , when: b}
              rescue: [{name: saved, debug: }]
              always: [{name: after, debug: }]
              when: a
              tags: t
              vars: {x: 1}
              ignore_errors: yes
        """)
    block = play.tasks[0]
    assert isinstance(block, Block) and names(block.tasks) == ["inner"]
    inner, saved, after = walk_tasks((block,))
    assert (inner.when, inner.tags, dict(inner.vars), inner.ignore_errors) == (("a", "b"), ("t",), {"x": 1}, True)
    assert (saved.name, saved.when, after.name) == ("saved", ("a",), "after")


def test_imports_are_read_at_load_and_includes_keep_their_own_keywords(folder):
    play = load(folder, """\
        - hosts: all
          tasks:
            - import_tasks: tasks/more.yml
              when: x
            - include_tasks: tasks/more.yml
              when: y
              loop: [1, 2]
              vars: {v: 1}
            - include_tasks: "tasks/{{ which }}.yml"
            - include_role: {name: web, tasks_from: other}
            - import_tasks: tasks/empty.yml
          handlers: [{name: h, debug: , listen: web changed}]
        """)
    first, second = play.tasks[:2]
    assert isinstance(first, Task) and first.when == ("x",) and names(play.tasks[:2]) == ["more one", "more two"]
    include = play.tasks[2]
    assert isinstance(include, Include) and include.task.when == ("y",) and include.task.loop == [1, 2]
    assert names(include.static) == ["more one", "more two"] and walk_tasks(include.static)[0].when == ()
    assert dict(walk_tasks(include.static)[0].vars) == {"v": 1}
    templated = play.tasks[3]
    assert isinstance(templated, Include) and templated.static is None
    assert names(play.tasks[4].static) == ["common task", "web other"]
    assert len(play.tasks) == 5  # the empty file adds nothing


@pytest.mark.parametrize("text, line, message", [
    ("- hosts: all\n  roles: [nope]\n", 2, "role 'nope' not found (looked in "),
    ("- hosts: all\n  roles: [{role: web, loop: [1]}]\n", 2, "loop is not supported on a role by kob run"),
    ("- hosts: all\n  roles: [{role: web, 'bad-name': 1}]\n", 2, "a role parameter should be a variable name"),
    ("- hosts: all\n  roles: [{port: 1}]\n", 2, "a roles: entry needs role:"),
    ("- hosts: all\n  tasks:\n    - import_tasks: tasks/more.yml\n      loop: [1]\n", 4,
     "import_tasks cannot loop (as in Ansible); use include_tasks"),
    ("- hosts: all\n  tasks:\n    - import_tasks: '{{ f }}.yml'\n", 3, "its name cannot be a template; use include_tasks"),
    ("- hosts: all\n  tasks:\n    - include_tasks: {file: tasks/more.yml, apply: {tags: x}}\n", 3,
     "apply: is not supported by kob run (yet)"),
    ("- hosts: all\n  tasks:\n    - include_tasks: tasks/more.yml\n      register: r\n", 4,
     "include_tasks takes name, loop, with_items, loop_control, when, tags, vars"),
    ("- hosts: all\n  tasks:\n    - include_role: {name: web, public: yes}\n", 3, "unknown argument"),
    ("- hosts: all\n  tasks:\n    - include_role: {name: web, tasks_from: nothing}\n", 3,
     "role web has no tasks/nothing(.yml)"),
    ("- hosts: all\n  tasks:\n    - meta: refresh_inventory\n", 3,
     "meta: 'refresh_inventory' is not supported by kob run (yet)"),
    ("- hosts: all\n  tasks:\n    - rescue: [{debug: }]\n", 3, "rescue: belongs to a block"),
    ("- hosts: all\n  tasks:\n    - block: [{debug: }]\n      loop: [1]\n", 4, "loop is not taken here by kob run"),
    ("- hosts: all\n  tasks:\n    - debug:\n      notify: nobody\n", 4, "no handler named 'nobody'"),
    ("- hosts: all\n  handlers:\n    - block: [{debug: }]\n", 3, "a handler needs a name"),
    ("- hosts: all\n  handlers:\n    - {name: h, include_tasks: tasks/more.yml}\n", 3,
     "kob run takes a handler as one task"),
    ("- hosts: all\n  tasks:\n    - import_tasks: site.yml\n", 1, "[0]/hosts: unknown module or task key"),
    ("- hosts: all\n  tasks:\n    - import_tasks: tasks/self.yml\n", 1, "nest more than 32 deep"),
])
def test_what_kob_does_not_take_is_refused_at_its_line(folder, text, line, message):
    (folder / "site.yml").write_text(text)
    with pytest.raises(SpecError) as refused:
        load_playbook("site.yml")
    assert f":{line}: " in str(refused.value) and message in str(refused.value), str(refused.value)


def test_a_template_file_with_an_unknown_filter_is_refused_at_load(folder):
    (folder / "roles/web/templates").mkdir()
    (folder / "roles/web/templates/a.j2").write_text("{{ x | no_such_filter }}\n")
    (folder / "roles/web/tasks/main.yml").write_text("- template: {src: a.j2, dest: /a}\n")
    with pytest.raises(SpecError, match=r"roles/web/tasks/main.yml:1: .*cannot read the template .*a.j2: "
                                        r"No filter named 'no_such_filter'"):
        load(folder, "- hosts: all\n  roles: [web]\n")
