"""`kob run`: Ansible-style playbooks over kob's SSH pool (templating, modules, the run and its recap)."""
