"""The edits of known_hosts and authorized_keys files (pure), as Ansible's known_hosts and authorized_key make them."""

from __future__ import annotations

import base64
import hashlib
import hmac

KEY_TYPES = ("ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


def host_matches(field: str, name: str) -> bool:
    """Whether a known_hosts line's host field names ``name``: plainly in its list, or hashed (|1|salt|hash)."""
    for entry in field.split(","):
        if entry.startswith("|1|"):
            try:
                salt, digest = (base64.b64decode(part) for part in entry[3:].split("|", 1))
            except (ValueError, TypeError):
                continue
            if hmac.compare_digest(hmac.new(salt, name.encode(), hashlib.sha1).digest(), digest):
                return True
        elif entry.lower() == name.lower():
            return True
    return False


def known_hosts_text(text: str, name: str, key: str | None, present: bool) -> str:
    """The file with ``key`` (a whole known_hosts line) for ``name``: an old key of the same type replaced,
    others kept; or, absent, every line of ``name`` taken out. The text unchanged when already so."""
    lines = text.splitlines()
    wanted = key.split() if key else []
    mine = [(i, line.split()) for i, line in enumerate(lines)
            if line.strip() and not line.lstrip().startswith("#") and host_matches(line.split()[0], name)]
    if not present:
        drop = {i for i, _ in mine}
        return text if not drop else "".join(f"{line}\n" for i, line in enumerate(lines) if i not in drop)
    if any(words[1:3] == wanted[1:3] for _, words in mine):
        return text
    drop = {i for i, words in mine if words[1:2] == wanted[1:2]}
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return "".join(f"{line}\n" for line in [*kept, key.strip()])


def hashed_host_key(name: str, key: str, salt: bytes) -> str:
    """The known_hosts line ``key`` with its host field replaced by ``name`` hashed (|1|salt|hmac-sha1), as
    ssh-keygen -H and Ansible's hash_host write it; a leading @marker stays."""
    words = key.split()
    at = 1 if words and words[0].startswith("@") else 0
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    words[at] = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    return " ".join(words)


def key_field_names(key: str) -> list[str]:
    """The host names of a known_hosts line's first field (hashed ones are left as written)."""
    return key.split()[0].split(",") if key.split() else []


def parse_key(line: str) -> tuple[str, str, str, str] | None:
    """An authorized_keys line as (options, type, blob, comment); None for a comment or blank line."""
    words = line.strip().split()
    if not words or words[0].startswith("#"):
        return None
    at = next((i for i, word in enumerate(words) if word in KEY_TYPES), None)
    if at is None or at + 1 >= len(words):
        return None
    return " ".join(words[:at]), words[at], words[at + 1], " ".join(words[at + 2:])


def authorized_keys_text(text: str, keys: str, present: bool, exclusive: bool = False) -> str:
    """The file with each key of ``keys`` (one a line) present as written, or absent; exclusive: every other
    key taken out. A key found is matched by its type and blob, and rewritten in place when its options or
    comment differ. The text unchanged when already so."""
    wanted = {parsed[1:3]: line.strip() for line in keys.splitlines() if (parsed := parse_key(line))}
    lines, seen, result = text.splitlines(), set(), []
    for line in lines:
        parsed = parse_key(line)
        if parsed is None:
            result.append(line)
            continue
        ident = parsed[1:3]
        if ident in wanted and present:
            if ident not in seen:
                result.append(wanted[ident])
            seen.add(ident)
        elif ident not in wanted and not exclusive:
            result.append(line)
    if present:
        result += [line for ident, line in wanted.items() if ident not in seen]
    if result == lines:
        return text
    return "".join(f"{line}\n" for line in result)


def unparsable_keys(keys: str) -> list[str]:
    """The lines of ``keys`` that are not a public key (comments and blank lines aside)."""
    return [line for line in keys.splitlines()
            if line.strip() and not line.strip().startswith("#") and parse_key(line) is None]
