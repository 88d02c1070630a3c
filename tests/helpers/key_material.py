"""Generated key material hidden in a listing of files, so two hosts' end states compare (pure).

A listing is STATE_SCRIPT's lines (tests/integration/test_corpus_vs_ansible.py): a line per path (path first),
then its text lines, each indented as "    | ".
"""

from __future__ import annotations

import itertools
import re

PRIVATE_BODY = "    | <private key material>"
_BEGIN = re.compile(r"    \| -----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


def masked(lines: list[str]) -> list[str]:
    """State lines with generated key material hidden (a host key differs by nature from run to run): the body
    of a PRIVATE KEY block, and the key of a .pub file beside one. Paths, kinds, modes, owners, sizes, the
    key's type and comment stay compared."""
    private = {line.split(" ", 1)[0] for line, after in itertools.pairwise(lines)
               if not line.startswith(" ") and _BEGIN.fullmatch(after)}
    shown, current, inside = [], "", False
    for line in lines:
        if not line.startswith(" "):
            current, inside = line.split(" ", 1)[0], False
        elif current in private and "-----BEGIN" in line:
            inside = True
        elif current in private and "-----END" in line:
            inside = False
        elif inside:
            line = PRIVATE_BODY
        elif current.endswith(".pub") and current[:-len(".pub")] in private:
            line = re.sub(r"^(    \| \S+ )\S+", r"\1<public key>", line)
        if not (shown and shown[-1] == line == PRIVATE_BODY):  # the body as one line
            shown.append(line)
    return shown
