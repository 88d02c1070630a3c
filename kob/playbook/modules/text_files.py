"""replace and blockinfile: a text file read from the host, edited on the manager, written back if it changes."""

from __future__ import annotations

from kob.playbook.edits import BLOCK_MARKER, block_text, replace_text
from kob.playbook.modules.context import Outcome
from kob.playbook.modules.files import edit_file


async def replace(args, ctx, variables) -> Outcome:
    path = str(args["path"])
    counted: dict[str, int] = {}

    def edit(old: str | None) -> str | None:
        new, counted["n"] = replace_text(old or "", str(args["regexp"]), str(args.get("replace") or ""),
                                         _optional(args, "after"), _optional(args, "before"))
        if new is None:  # as in Ansible: not a failure, nothing replaced
            counted["unmatched"] = 1
            return old
        return new

    outcome = await edit_file({**args, "create": False}, ctx, path, edit, missing=f"Path {path} does not exist !")
    if outcome.status != "failed":
        outcome.result["msg"] = ("Pattern for before/after params did not match the given file"
                                 if counted.get("unmatched") else f"{counted.get('n', 0)} replacements made")
    return outcome


async def blockinfile(args, ctx, variables) -> Outcome:
    path = str(args["path"])
    present = str(args.get("state") or "present") == "present"
    block = str(args.get("block") or "")

    def edit(old: str | None) -> str | None:
        if old is None and not (present and block):
            return None
        return block_text(old, block, str(args.get("marker") or BLOCK_MARKER), str(args.get("marker_begin") or "BEGIN"),
                          str(args.get("marker_end") or "END"), _optional(args, "insertafter"),
                          _optional(args, "insertbefore"), present)

    outcome = await edit_file(args, ctx, path, edit, missing=f"Path {path} does not exist !")
    if outcome.status == "changed":
        outcome.result["msg"] = "Block inserted" if present and block else "Block removed"
    return outcome


def _optional(args, key: str) -> str | None:
    value = args.get(key)
    return None if value in (None, "") else str(value)
