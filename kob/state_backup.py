"""An inventory's state as one JSON document: out of one store (`kob state export`), into another (`kob state import`).

The document, version 1:

    {"format": "kob-state", "version": 1,
     "namespace": "kob/<inventory stem>",     the inventory it belongs to
     "source": "sqlite:///...", "exported_at": <unix time>, "kob_version": "...",   for people; not checked
     "samples": false,                        whether metric samples (keys under metrics/) are in it
     "entries": [{"key": "services/web/scale", "json": {...}}, ...],
                                              every key under the namespace, sorted, without the namespace;
                                              the value as "json" when it is JSON as kob writes it, else as
                                              "text" (UTF-8) or "base64"
     "events": [{"seq": 7, "time": ..., "kind": ..., "message": ..., "fields": {"ns": ..., ...}}, ...],
                                              the inventory's events, oldest first, seq as in the source store
     "digest": "sha256:<hex>"}                of the canonical JSON of namespace, samples, entries and events

Keys are taken generically, whatever their name: revisions, scale counts, jobs and their output, host
health, autoscale decisions, the last cron outcome, and any key a later kob adds under the namespace.
Locks (the deploy, jobs and leader locks) are not state: they expire, and every backend keeps them apart
from keys. The event log is one per store, shared by every inventory using it; an event belongs to the
inventory named by its ``fields["ns"]`` (kob.deploy.events), so only those are exported, and an import
appends them after whatever the target's log already holds, each with its original time and a new seq.

The first half of this module is pure (build, encode, validate); the second reads and writes a store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kob.errors import StateFileError, StoreError
from kob.store.base import Entry, Event, Store

FORMAT = "kob-state"
VERSION = 1
SAMPLES_PREFIX = "metrics/"  # kob.metrics.history keeps its samples under <namespace>/metrics/
EVENT_NAMESPACE_FIELD = "ns"  # kob.deploy.events.EventLog puts the inventory's namespace there
MAX_FILE_BYTES = 256 * 1024 * 1024
EVENT_PAGE = 1000

_TOP_KEYS = {"format", "version", "namespace", "source", "exported_at", "kob_version", "samples", "entries",
             "events", "digest"}
_VALUE_FORMS = ("json", "text", "base64")
_EVENT_KEYS = {"seq", "time", "kind", "message", "fields"}


@dataclass(frozen=True)
class StateDocument:
    """A validated document: keys relative to the namespace, values as bytes, events in seq order."""

    namespace: str
    samples: bool
    entries: tuple[tuple[str, bytes], ...]
    events: tuple[Event, ...]


# -- pure: building ---------------------------------------------------------------------------------------


def encode_value(value: bytes) -> dict[str, Any]:
    """{"json": ...} when ``value`` is exactly what json.dumps writes for it, else {"text": ...} or {"base64": ...}."""
    try:
        text = value.decode()
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(value).decode()}
    try:
        parsed = json.loads(text, parse_constant=_refuse_constant)
        if json.dumps(parsed, allow_nan=False) == text:
            return {"json": parsed}
    except (ValueError, RecursionError):
        pass
    return {"text": text}


def build_document(namespace: str, entries: list[Entry], events: list[Event], *, samples: bool, source: str,
                   exported_at: float, kob_version: str) -> dict[str, Any]:
    """The document of ``entries`` (full keys, each under ``namespace``/) and ``events``."""
    for event in events:
        try:
            json.dumps(event.fields, allow_nan=False)
        except ValueError:
            raise StoreError(f"event {event.seq} of {namespace} ({event.kind}) holds NaN or an infinity, which a "
                             "JSON document cannot carry; it cannot be exported") from None
    prefix = namespace + "/"
    body = {
        "namespace": namespace,
        "samples": samples,
        "entries": [{"key": e.key[len(prefix):], **encode_value(e.value)} for e in sorted(entries, key=_key)],
        "events": [{"seq": e.seq, "time": e.time, "kind": e.kind, "message": e.message, "fields": e.fields}
                   for e in sorted(events, key=_seq)],
    }
    return {"format": FORMAT, "version": VERSION, "namespace": namespace, "source": source,
            "exported_at": exported_at, "kob_version": kob_version, **body, "digest": digest(body)}


def digest(body: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the document's namespace, samples, entries and events."""
    parts = {name: body[name] for name in ("namespace", "samples", "entries", "events")}
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def document_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, allow_nan=False) + "\n"


def _key(entry: Entry) -> str:
    return entry.key


def _seq(event: Event) -> int:
    return event.seq


# -- pure: reading and validating -------------------------------------------------------------------------


def parse_document(text: str | bytes, file: str) -> StateDocument:
    """The whole document checked before anything is written; StateFileError naming ``file`` and the place."""
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError as error:
            line = text[:error.start].count(b"\n") + 1
            raise StateFileError(file, line, "", "not UTF-8 text, which every `kob state export` is") from None
    try:
        raw = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                         object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as error:
        raise StateFileError(file, error.lineno, "", f"not JSON: {error.msg} (column {error.colno})") from None
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise StateFileError(file, None, "", f"not JSON kob can read: {reason}") from None
    try:
        return _document(raw, _Checker(file))
    except RecursionError:  # writing a value nested nearly as deep as json.loads reads
        raise StateFileError(file, None, "", "not JSON kob can read: nested too deeply") from None


class _Checker:
    """Raises StateFileError at a key path of the document."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, path: str, message: str) -> StateFileError:
        return StateFileError(self.file, None, path, message)

    def typed(self, value: Any, kind: type | tuple[type, ...], path: str, what: str) -> Any:
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(path, f"should be {what}, got {_shown(value)}")
        return value

    def number(self, value: Any, path: str) -> float:
        self.typed(value, (int, float), path, "a number")
        if not math.isfinite(value):
            raise self.fail(path, f"should be a finite number, got {value!r}")
        return float(value)


def _document(raw: Any, check: _Checker) -> StateDocument:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise check.fail("", f"not a kob state export (no \"format\": \"{FORMAT}\"); `kob state export` writes one")
    version = raw.get("version")
    if version != VERSION or isinstance(version, bool):
        raise check.fail("version", f"{_shown(version)} is not a version this kob reads (it reads {VERSION})")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise check.fail(unknown[0], f"unknown key in a version {VERSION} document")
    missing = sorted(name for name in _TOP_KEYS - {"source", "exported_at", "kob_version"} if name not in raw)
    if missing:
        raise check.fail(missing[0], "missing")
    namespace = check.typed(raw["namespace"], str, "namespace", "a string")
    if not namespace or namespace.endswith("/"):
        raise check.fail("namespace", f"should be an inventory's namespace like 'kob/site', got {namespace!r}")
    samples = check.typed(raw["samples"], bool, "samples", "true or false")
    for optional in ("source", "kob_version"):
        if optional in raw:
            check.typed(raw[optional], str, optional, "a string")
    if "exported_at" in raw:
        check.number(raw["exported_at"], "exported_at")
    entries = _entries(check.typed(raw["entries"], list, "entries", "a list"), check)
    events = _events(check.typed(raw["events"], list, "events", "a list"), namespace, check)
    written = check.typed(raw["digest"], str, "digest", "a string")
    if written != digest(raw):
        raise check.fail("digest", "does not match the document: it was changed or damaged after its export")
    return StateDocument(namespace, samples, entries, events)


def _entries(raw: list[Any], check: _Checker) -> tuple[tuple[str, bytes], ...]:
    seen: set[str] = set()
    entries = []
    for i, item in enumerate(raw):
        path = f"entries/{i}"
        check.typed(item, dict, path, "an object")
        key = check.typed(item.get("key"), str, f"{path}/key", "a string")
        if not key or key.startswith("/") or "\x00" in key:
            raise check.fail(f"{path}/key", f"should be a key under the namespace, like 'services/web/scale', "
                                            f"got {key!r}")
        if key in seen:
            raise check.fail(f"{path}/key", f"{key!r} is there twice")
        seen.add(key)
        forms = [form for form in _VALUE_FORMS if form in item]
        extra = sorted(set(item) - {"key", *_VALUE_FORMS})
        if len(forms) != 1 or extra:
            raise check.fail(path, f"should have \"key\" and one of {', '.join(_VALUE_FORMS)}"
                                   + (f", not {extra[0]!r}" if extra else ""))
        entries.append((key, _value(item, forms[0], f"{path}/{forms[0]}", check)))
    return tuple(entries)


def _value(item: dict[str, Any], form: str, path: str, check: _Checker) -> bytes:
    if form == "json":
        return json.dumps(item["json"], allow_nan=False).encode()
    text = check.typed(item[form], str, path, "a string")
    try:
        if form == "text":
            return text.encode()
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as error:
        raise check.fail(path, f"not valid {'UTF-8 text' if form == 'text' else 'base64'}: {error}") from None


def _events(raw: list[Any], namespace: str, check: _Checker) -> tuple[Event, ...]:
    events: list[Event] = []
    for i, item in enumerate(raw):
        path = f"events/{i}"
        check.typed(item, dict, path, "an object")
        wrong = sorted(_EVENT_KEYS ^ set(item))
        if wrong:
            raise check.fail(f"{path}/{wrong[0]}", "missing" if wrong[0] not in item else "unknown key in an event")
        seq = check.typed(item["seq"], int, f"{path}/seq", "a whole number")
        if seq < 1 or (events and seq <= events[-1].seq):
            raise check.fail(f"{path}/seq", f"{seq} does not follow {events[-1].seq if events else 0}: "
                                            "events are listed oldest first, seq growing")
        at = check.number(item["time"], f"{path}/time")
        kind = check.typed(item["kind"], str, f"{path}/kind", "a string")
        message = check.typed(item["message"], str, f"{path}/message", "a string")
        fields = check.typed(item["fields"], dict, f"{path}/fields", "an object")
        if fields.get(EVENT_NAMESPACE_FIELD) != namespace:
            raise check.fail(f"{path}/fields/{EVENT_NAMESPACE_FIELD}",
                             f"should be the document's namespace {namespace!r}, got {_shown(fields.get('ns'))}")
        events.append(Event(seq, at, kind, message, fields))
    return tuple(events)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is beyond the numbers JSON can carry here")
    return number


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"the key {twice!r} appears twice in one object")
    return result


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else repr(value)
    return text if len(text) <= 40 else f"{text[:40]}…"


def read_document(path: Path) -> StateDocument:
    """The document in the file at ``path``: a regular file of at most MAX_FILE_BYTES, then parse_document."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opened so does not block
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise StateFileError(str(path), None, "", "not a regular file; give the path of a `kob state export`")
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as error:
        raise StateFileError(str(path), None, "", f"cannot read it: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise StateFileError(str(path), None, "", f"larger than {MAX_FILE_BYTES >> 20} MiB, the most kob reads")
    return parse_document(data, str(path))


# -- the store --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    written: int  # keys put
    deleted: int  # keys the store held that the document lacks (--force only)
    appended: int  # events added to the log
    already: int  # events of the document the log already held (--force only)


async def held_state(store: Store, namespace: str, *, samples: bool = True) -> tuple[list[Entry], list[Event]]:
    """Every key under ``namespace``/ (metric samples only when ``samples``) and the inventory's events."""
    entries = await store.list(namespace + "/")
    if not samples:
        entries = [e for e in entries if not e.key.startswith(f"{namespace}/{SAMPLES_PREFIX}")]
    events: list[Event] = []
    after = 0
    while page := await store.events(after, EVENT_PAGE):
        events += [e for e in page if e.fields.get(EVENT_NAMESPACE_FIELD) == namespace]
        after = page[-1].seq
    return entries, events


async def export_state(store: Store, namespace: str, *, samples: bool, source: str, exported_at: float,
                       kob_version: str) -> dict[str, Any]:
    entries, events = await held_state(store, namespace, samples=samples)
    return build_document(namespace, entries, events, samples=samples, source=source, exported_at=exported_at,
                          kob_version=kob_version)


async def import_state(store: Store, document: StateDocument, namespace: str, *, force: bool, file: str,
                       where: str) -> ImportReport:
    """Write ``document`` into ``store`` under ``namespace``, refusing a store that holds any of its state
    unless ``force``: then the namespace's keys become exactly the document's, and the document's events
    the log does not already hold are appended. ``where`` names the store in messages."""
    if document.namespace != namespace:
        raise StateFileError(file, None, "namespace",
                             f"is {document.namespace!r}, the state of another inventory than this one "
                             f"({namespace!r}); import it with an inventory whose file name is "
                             f"{document.namespace.rsplit('/', 1)[-1]!r} plus .yaml")
    entries, events = await held_state(store, namespace)
    # An owner label alone is what any command makes on first use (kob.identity.owner): the file's replaces it.
    held_keys = [e for e in entries if e.key != f"{namespace}/owner"]
    if (held_keys or events) and not force:
        raise StoreError(f"{where} already holds state of {namespace} ({counted(len(held_keys), 'key')}, "
                         f"{counted(len(events), 'event')}); "
                         f"nothing imported. --force replaces its keys with those of {file}")
    wanted = {f"{namespace}/{key}": value for key, value in document.entries}
    deletes = [e.key for e in entries if e.key not in wanted]
    held = {_event_identity(e) for e in events}
    new_events = [e for e in document.events if _event_identity(e) not in held]
    try:
        await store.write_batch(list(wanted.items()), deletes, new_events)
    except StoreError as error:
        raise StoreError(f"importing {file} into {where} failed: {error}; once the store answers, the same "
                         "import with --force writes the whole file again") from error
    return ImportReport(len(wanted), len(deletes), len(new_events), len(document.events) - len(new_events))


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _event_identity(event: Event) -> tuple[float, str, str, str]:
    return event.time, event.kind, event.message, json.dumps(event.fields, sort_keys=True)
