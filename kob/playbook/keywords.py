"""The playbook words kob run knows (pure tables): modules and their arguments, play and task keys, and the
Ansible keys it refuses by name with what to write instead."""

from __future__ import annotations

from kob.playbook.module_arguments import extend_tables

MODULES: dict[str, tuple[str, ...]] = {
    "command": ("_raw", "cmd", "argv", "chdir", "creates", "removes", "stdin"),
    "shell": ("_raw", "cmd", "chdir", "creates", "removes", "stdin"),
    "copy": ("content", "src", "dest", "mode", "owner", "group"),
    "template": ("src", "dest", "mode", "owner", "group", "trim_blocks", "lstrip_blocks"),
    "file": ("path", "state", "mode", "owner", "group"),
    "lineinfile": ("path", "line", "regexp", "state", "create", "mode", "owner", "group"),
    "apt": ("name", "state", "update_cache"),
    "service": ("name", "state", "enabled"),
    "systemd": ("name", "state", "enabled"),
    "docker_container": ("name", "image", "state", "command", "ports", "env", "restart_policy"),
    "docker_image": ("name", "state", "source"),
    "kob_deploy": ("service", "inventory"),
    "wait_for": ("port", "host", "path", "state", "timeout", "delay"),
    "debug": ("msg", "var"),
    "set_fact": (),  # any keys: every key is a fact
    "fail": ("msg",),
    "assert": ("that", "fail_msg", "success_msg"),
    "meta": ("_raw",),  # flush_handlers, noop, end_play, end_host
    "include_vars": ("_raw", "file", "dir", "name", "files_matching"),  # read on the manager by the runner
}
"""Module name -> the argument names it accepts ("_raw" is a free-form command line)."""

STATES: dict[str, tuple[str, ...]] = {
    "file": ("directory", "absent", "touch", "file", "link", "hard"),
    "lineinfile": ("present", "absent"),
    "apt": ("present", "absent", "latest"),
    "service": ("started", "stopped", "restarted", "reloaded"),
    "systemd": ("started", "stopped", "restarted", "reloaded"),
    "docker_container": ("started", "absent", "stopped"),
    "docker_image": ("present", "absent"),
    "wait_for": ("started", "stopped", "present", "absent"),
}
"""The state: values each module accepts (a templated "{{ ... }}" state is checked at run time)."""

extend_tables(MODULES, STATES)  # the modules of kob.playbook.modules beyond these

FREE_FORM = ("command", "shell", "meta", "include_vars")
ALIAS_PREFIXES = ("ansible.builtin.", "ansible.legacy.")
PLAY_KEYS = ("hosts", "name", "vars", "vars_files", "pre_tasks", "roles", "tasks", "post_tasks", "handlers",
             "gather_facts", "serial", "tags", "become", "become_user", "check_mode", "remote_user", "diff",
             "environment", "any_errors_fatal", "max_fail_percentage", "strategy")
TASK_KEYS = ("name", "when", "loop", "with_items", "register", "notify", "tags", "ignore_errors", "changed_when",
             "failed_when", "vars", "become", "become_user", "args", "check_mode", "run_once", "remote_user",
             "until", "retries", "delay", "loop_control", "with_dict", "delegate_to", "environment", "diff",
             "any_errors_fatal", "no_log")
UNSUPPORTED = (
    "include", "local_action", "async", "poll", "with_fileglob", "with_together", "with_sequence", "with_nested",
    "with_subelements", "with_first_found", "with_lines", "with_random_choice", "connection", "vars_prompt",
    "module_defaults", "collections", "throttle", "become_method", "raw", "script", "delegate_facts",
    "setup", "gather_subset", "gather_timeout", "fact_path", "order", "force_handlers", "timeout",
    "become_flags", "become_exe", "debugger", "ignore_unreachable",
)
"""Ansible keys and modules that kob run refuses by name rather than as unknown."""
INSTEAD = {
    "include": "write import_tasks: (read at load) or include_tasks: (read when reached)",
    "local_action": "write the module as usual and add delegate_to: localhost",
    "connection": "delegate_to: localhost runs a task on the manager; kob run reaches other hosts over SSH",
    "async": "run it in the foreground (leave out async: and poll:), or start it detached with "
             "shell: nohup CMD >/dev/null 2>&1 &",
    "poll": "run it in the foreground (leave out async: and poll:)",
    "with_fileglob": "list the files in loop:",
    "with_first_found": "name the file directly, or choose it with a when: on each task",
    "with_together": "write loop: \"{{ a | zip(b) | list }}\" and use item.0, item.1",
    "with_nested": "write loop: \"{{ a | product(b) | list }}\" and use item.0, item.1",
    "with_subelements": "write loop: over a flattened list built with set_fact",
    "with_sequence": "write loop: \"{{ range(1, n + 1) | list }}\"",
    "with_lines": "run the command in a task with register:, then loop: \"{{ result.stdout_lines }}\"",
    "vars_prompt": "give the values with -e NAME=value",
    "become_method": "kob's become is sudo; leave become_method out",
    "setup": "facts are gathered when a play starts (gather_facts: true); refer to them as ansible_facts.NAME",
    "gather_subset": "kob run gathers every fact it knows in one command; leave gather_subset out",
    "delegate_facts": "set the fact on that host's own play, or read it with hostvars-free set_fact",
    "timeout": "give the module its own timeout (wait_for: timeout:), or use until:/retries:",
    "raw": "use command: or shell: (kob run needs no Python on the host)",
    "script": "copy: the script to the host, then command: it",
    "with_list": "write loop: with the same list",
    "with_indexed_items": "write loop: with loop_control: {index_var: index} and use index and item",
    "with_flattened": "write loop: \"{{ a | flatten }}\"",
    "with_random_choice": "kob run picks nothing at random; write the value itself",
}
"""What to write instead of an unsupported key, where there is something."""
LOOKUP_LOOP = ("write loop: \"{{{{ query('{name}', ...) }}}}\" if kob run has that lookup (it has file, env, template "
               "and vars), or list the values in loop:")
"""What to write instead of any other with_NAME loop (Ansible's lookup NAME)."""
PLAY_UNSUPPORTED = ("run_once", "ignore_errors", "until", "retries", "delay", "loop_control", "delegate_to", "no_log")
INCLUDES = ("include_tasks", "import_tasks", "include_role", "import_role")
BLOCK_KEYWORDS = ("when", "tags", "vars", "become", "become_user", "ignore_errors", "check_mode", "remote_user",
                  "environment", "diff", "any_errors_fatal", "delegate_to")
"""What a block, an import and a role entry pass on to their tasks."""
INCLUDE_KEYWORDS = ("name", "loop", "with_items", "loop_control", *BLOCK_KEYWORDS)
ROLE_CALL_ARGS = ("name", "tasks_from", "vars_from", "defaults_from")
META = ("flush_handlers", "noop", "end_play", "end_host")
LOOP_CONTROL = ("loop_var", "index_var", "label", "pause")
STRATEGIES = ("linear",)
