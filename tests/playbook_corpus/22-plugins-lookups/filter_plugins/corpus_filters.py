"""Filters of the corpus's own, found by Ansible (and kob) in filter_plugins/ beside the playbook."""

import re


def with_prefix(values, prefix):
    return [prefix + str(value) for value in values]


def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


class FilterModule:
    def filters(self):
        return {"with_prefix": with_prefix, "slugify": slugify}
