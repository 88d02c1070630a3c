"""Every error a user can see: one tree, all defined here.

Each one carries a one-line message that names the file:line and key path,
or the host, and says what to do. The CLI prints ``str(error)`` and exits
non-zero; tracebacks only with ``-v``. Code that raises a bare ValueError,
RuntimeError or Exception where a user would see it fails
tests/unit/test_error_tree.py, which also checks this drawing against the
classes. A module in parentheses re-exports the class for the code that raises it.

    KobError
    ├── SpecError            file:line: key/path: what is wrong
    │   └── StateFileError   a `kob state export` document that cannot be imported; file:line: place
    ├── PatternError         a host pattern that matches nothing
    ├── TransportError       names the host
    │   ├── HostUnreachable
    │   ├── AuthFailed
    │   ├── HostKeyRejected
    │   ├── CommandTimeout
    │   └── CommandFailed    non-zero exit where success was required
    ├── HolderError          the connection holder a command went through went away or failed; names it and the hosts
    ├── ObservationError     a host printed what kob cannot read; names the host
    ├── DeployError          a change to what runs cannot be planned or carried out
    │   ├── NoFreePort       no host port left for a new replica; names the host
    │   ├── ImagesNotSent    hosts an image did not reach, each with docker's reason; the others got it
    │   └── RolloutFailed    a new replica did not become healthy; the old ones keep serving (kob.deploy.rollout)
    ├── LbError              HAProxy on one lb host; names the host (kob.lb)
    │   ├── LbConfigInvalid  haproxy -c refused the new config; the old one keeps serving
    │   ├── LbNotApplied     HAProxy did not start, or a reload did not take (e.g. a port in use)
    │   └── LbRuntimeRefused the runtime API refused a command (add/drain/del server)
    ├── TemplateError        a playbook template or expression that cannot be rendered (kob.playbook.templating)
    ├── HostFileError        a file a playbook module needs is unreadable on the host (kob.playbook.modules.context)
    ├── StoreError           names the store (etcd at its endpoints, or the sqlite file)
    │   ├── LockHeld         names the holder and since when
    │   └── LockLost         a lock this process held is gone: expired, or deleted by hand
    └── LabError
"""

from __future__ import annotations

import unicodedata


class KobError(Exception):
    """Base of every error meant for the user's eyes."""


class SpecError(KobError):
    """A mistake in a user's YAML file, located by file, line and key path."""

    def __init__(self, file: str, line: int | None, keypath: str, message: str):
        self.file, self.line, self.keypath, self.message = file, line, keypath, message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {keypath}: {message}" if keypath else f"{where}: {message}")


class StateFileError(SpecError):
    """A state document (`kob state export`) that is not JSON, not of its version or shape, or damaged."""


class PatternError(KobError):
    """A host pattern that names no host or group."""


class TransportError(KobError):
    """Something went wrong reaching or running on a host."""

    def __init__(self, host: str, message: str):
        self.host = host
        super().__init__(f"{host}: {message}")


class HostUnreachable(TransportError):
    """The host did not accept a connection."""


class AuthFailed(TransportError):
    """The host refused our key."""


class HostKeyRejected(TransportError):
    """The host's key is unknown or does not match known_hosts."""


class CommandTimeout(TransportError):
    """A command ran longer than its timeout."""


class CommandFailed(TransportError):
    """A command exited non-zero where success was required."""

    def __init__(self, result):
        self.result = result
        detail = (result.stderr or result.stdout).strip().splitlines()
        last = detail[-1] if detail else "no output"
        super().__init__(result.host, f"{result.command_line} exited {result.rc}: {last}")


class HolderError(KobError):
    """The connection holder (`kob connect`, `kob serve`) went away or failed while a command ran through it.

    Not a TransportError: the command may have run, so nobody may treat the host as merely unreachable
    and try again; the whole kob command ends."""


class ObservationError(KobError):
    """A host printed something kob cannot read (a different docker, or a broken shell); names the host."""


class DeployError(KobError):
    """A change to what runs could not be planned or carried out."""


class NoFreePort(DeployError):
    """Every host port kob publishes replicas on is taken on one host."""

    def __init__(self, host: str, ports: range):
        self.host = host
        super().__init__(f"{host}: every host port kob uses ({ports.start}-{ports.stop - 1}) is taken; "
                         "run fewer replicas there (placement.max_per_host) or add hosts")


class ImagesNotSent(DeployError):
    """Some hosts did not get their images (each named, with why); the others did."""


class RolloutFailed(DeployError):
    """A new replica did not become healthy; what ran before keeps serving."""


class LbError(KobError):
    """Something went wrong with HAProxy on one lb host."""

    def __init__(self, host: str, message: str):
        self.host = host
        super().__init__(f"{host}: {message}")


class LbConfigInvalid(LbError):
    """HAProxy's own check refused the config kob rendered."""

    def __init__(self, host: str, errors: list[str]):
        self.errors = errors
        super().__init__(host, "HAProxy refused the new config (the old one keeps serving): " + "; ".join(errors))


class LbNotApplied(LbError):
    """The config is valid, but HAProxy did not start or reload with it."""


class LbRuntimeRefused(LbError):
    """The runtime API answered a command with an error."""

    def __init__(self, host: str, command: str, errors: list[str]):
        self.command, self.errors = command, errors
        super().__init__(host, f"HAProxy's runtime API refused `{command}`: {'; '.join(errors[:3])}")


class TemplateError(KobError):
    """A playbook template or expression that cannot be rendered; the message says why."""


class StoreError(KobError):
    """The state store could not be reached or refused an operation."""


class LockHeld(StoreError):
    """Somebody else holds a lock."""

    def __init__(self, name: str, holder: str, since: float):
        import time

        self.name, self.holder, self.since = name, holder, since
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
        super().__init__(f"lock {name!r} is held by {holder} since {when}")


class LockLost(StoreError):
    """A lock this process held is no longer its own: it expired, or its key was deleted."""


class LabError(KobError):
    """The local lab could not be set up or torn down."""


MAX_SHOWN = 1000  # characters of an error message printed; a 100000-character pattern is not echoed whole


def one_line(text: str) -> str:
    """``text`` safe to print as one line: line breaks and other control characters written as escapes,
    so that a key holding a newline or a terminal escape cannot forge a second line or drive the terminal."""
    if len(text) > MAX_SHOWN:
        text = f"{text[:MAX_SHOWN]}… ({len(text) - MAX_SHOWN} more characters)"
    return "".join(_escaped(c) if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)


def _escaped(char: str) -> str:
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    return f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}"


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
