"""The state document of `kob state export`: values encoded losslessly, and every bad document refused whole,
in one line naming the file and the place (tables)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kob.errors import StateFileError, StoreError
from kob.state_backup import (
    MAX_FILE_BYTES,
    build_document,
    digest,
    document_text,
    encode_value,
    parse_document,
    read_document,
)
from kob.store.base import Entry, Event

FILE = "backup.json"
NS = "kob/site"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (b'{"replicas": 3, "inventory_replicas": 2}', {"json": {"replicas": 3, "inventory_replicas": 2}}),
        (b"12", {"json": 12}),
        (b'"a\\u00e9"', {"json": "a\u00e9"}),
        (b'{"replicas":3}', {"text": '{"replicas":3}'}),  # not as json.dumps writes it: kept byte for byte
        (b"1.0e3", {"text": "1.0e3"}),
        (b"NaN", {"text": "NaN"}),
        (b"line one\nline two \xc3\xa9", {"text": "line one\nline two \u00e9"}),
        (b"", {"text": ""}),
        (b"\x00\xff\xfe", {"base64": "AP/+"}),
        (b"[" * 5000 + b"]" * 5000, {"text": "[" * 5000 + "]" * 5000}),  # too deep for json.loads
    ],
)
def test_a_value_is_encoded_readably_where_it_can_be_and_exactly_always(value, encoded):
    assert encode_value(value) == encoded
    [(_, back)] = parse_document(document_text(document([Entry(f"{NS}/k", value, 1)])), FILE).entries
    assert back == value


def document(entries=(), events=(), samples=False) -> dict:
    return build_document(NS, list(entries), list(events), samples=samples, source="sqlite:///x.db",
                          exported_at=1.5, kob_version="0.1.0")


ENTRIES = [Entry(f"{NS}/services/web/scale", b'{"replicas": 3, "inventory_replicas": 2}', 7),
           Entry(f"{NS}/jobs/logs/00000001/1", b"\xffend of output\n", 9),
           Entry(f"{NS}/owner", b"3f9c0e1a", 12),
           Entry(f"{NS}/cron/last", b'{"time": 1.0, "outcome": "ok", "summary": "", "who": "me"}', 3)]
EVENTS = [Event(4, 10.0, "deploy", "web: revision 1", {"ns": NS, "service": "web"}),
          Event(9, 11.5, "scale", "web: 3 -> 4", {"ns": NS})]


def test_a_document_round_trips_keys_without_the_namespace_sorted_and_events_in_seq_order():
    built = document(reversed(ENTRIES), reversed(EVENTS))
    assert [e["key"] for e in built["entries"]] == ["cron/last", "jobs/logs/00000001/1", "owner", "services/web/scale"]
    parsed = parse_document(document_text(built), FILE)
    assert parsed.namespace == NS and parsed.samples is False
    assert dict(parsed.entries) == {e.key[len(NS) + 1:]: e.value for e in ENTRIES}
    assert parsed.events == tuple(EVENTS)
    assert built["format"] == "kob-state" and built["version"] == 1 and built["digest"].startswith("sha256:")


def good() -> dict:
    return json.loads(document_text(document(ENTRIES, EVENTS)))


def changed(edit) -> str:
    """The good document edited by ``edit``, with its digest recomputed (so the edit itself is what is refused)."""
    raw = good()
    edit(raw)
    if isinstance(raw, dict) and all(k in raw for k in ("namespace", "samples", "entries", "events")):
        try:
            raw["digest"] = digest(raw)
        except (TypeError, ValueError):
            pass
    return json.dumps(raw)


def without(key):
    return lambda raw: raw.pop(key)


def setting(path, value):
    def edit(raw):
        *parents, last = path
        for part in parents:
            raw = raw[part]
        raw[last] = value
    return edit


BAD = [
    ("not JSON", '{"format": "kob-state",\n "version": 1,,}', ("backup.json:2: not JSON: Expecting property name "
                                                            "enclosed in double quotes (column 15)")),
    ("empty", "", "backup.json:1: not JSON: Expecting value (column 1)"),
    ("NaN", '{"a": NaN}', "backup.json: not JSON kob can read: NaN is not a JSON number"),
    ("twice the same key", '{"a": 1, "a": 2}', ("backup.json: not JSON kob can read: the key 'a' appears twice in "
                                               "one object")),
    ("too deep", "[" * 100000 + "]" * 100000, "backup.json: not JSON kob can read: nested too deeply"),
    ("a list", "[]", 'backup.json: not a kob state export (no "format": "kob-state"); `kob state export` writes one'),
    ("another format", '{"format": "kob-config"}', "backup.json: not a kob state export"),
    ("a later version", changed(setting(["version"], 2)),
     "backup.json: version: 2 is not a version this kob reads (it reads 1)"),
    ("version true", changed(setting(["version"], True)), "backup.json: version: true is not a version this kob reads"),
    ("an unknown key", changed(setting(["extra"], 1)), "backup.json: extra: unknown key in a version 1 document"),
    ("no digest", json.dumps({k: v for k, v in good().items() if k != "digest"}), "backup.json: digest: missing"),
    ("no events", changed(without("events")), "backup.json: events: missing"),
    ("namespace a number", changed(setting(["namespace"], 3)), "backup.json: namespace: should be a string, got 3"),
    ("namespace empty", changed(setting(["namespace"], "")), ("backup.json: namespace: should be an inventory's "
                                                             "namespace like 'kob/site', got ''")),
    ("samples a string", changed(setting(["samples"], "no")), ('backup.json: samples: should be true or false, '
                                                              'got "no"')),
    ("exported_at text", changed(setting(["exported_at"], "today")), ('backup.json: exported_at: should be a number, '
                                                                     'got "today"')),
    ("entries an object", changed(setting(["entries"], {})), "backup.json: entries: should be a list, got {}"),
    ("entry a string", changed(setting(["entries", 1], "k")), 'backup.json: entries/1: should be an object, got "k"'),
    ("key missing", changed(setting(["entries", 2], {"json": 1})), ("backup.json: entries/2/key: should be a string, "
                                                                   "got null")),
    ("key absolute", changed(setting(["entries", 0, "key"], "/kob/site/x")),
     "backup.json: entries/0/key: should be a key under the namespace, like 'services/web/scale', got '/kob/site/x'"),
    ("key twice", changed(setting(["entries", 1, "key"], "cron/last")),
     "backup.json: entries/1/key: 'cron/last' is there twice"),
    ("two value forms", changed(setting(["entries", 0, "text"], "x")),
     'backup.json: entries/0: should have "key" and one of json, text, base64'),
    ("no value", changed(lambda raw: raw["entries"][0].pop("json")),
     'backup.json: entries/0: should have "key" and one of json, text, base64'),
    ("an unknown field", changed(setting(["entries", 0, "version"], 3)),
     "backup.json: entries/0: should have \"key\" and one of json, text, base64, not 'version'"),
    ("base64 broken", changed(setting(["entries", 1, "base64"], "@@@")),
     "backup.json: entries/1/base64: not valid base64: "),
    ("text a number", changed(lambda raw: raw["entries"][2].update({"text": 5, "key": "owner"})),
     "backup.json: entries/2/text: should be a string, got 5"),
    ("text with a lone surrogate", changed(lambda raw: raw["entries"][2].update({"text": "\ud800"})),
     "backup.json: entries/2/text: not valid UTF-8 text: "),
    ("event seq missing", changed(lambda raw: raw["events"][1].pop("seq")), "backup.json: events/1/seq: missing"),
    ("event extra", changed(setting(["events", 0, "who"], "me")),
     "backup.json: events/0/who: unknown key in an event"),
    ("event seq falling", changed(setting(["events", 1, "seq"], 4)),
     "backup.json: events/1/seq: 4 does not follow 4: events are listed oldest first, seq growing"),
    ("event seq zero", changed(setting(["events", 0, "seq"], 0)), "backup.json: events/0/seq: 0 does not follow 0"),
    ("event seq a float", changed(setting(["events", 0, "seq"], 1.5)),
     "backup.json: events/0/seq: should be a whole number, got 1.5"),
    ("event time text", changed(setting(["events", 0, "time"], "noon")),
     'backup.json: events/0/time: should be a number, got "noon"'),
    ("event fields a list", changed(setting(["events", 0, "fields"], [])),
     "backup.json: events/0/fields: should be an object, got []"),
    ("event of another inventory", changed(setting(["events", 1, "fields", "ns"], "kob/other")),
     "backup.json: events/1/fields/ns: should be the document's namespace 'kob/site', got \"kob/other\""),
    ("changed after export", json.dumps({**good(), "samples": True}),
     "backup.json: digest: does not match the document: it was changed or damaged after its export"),
]


@pytest.mark.parametrize(("text", "message"), [(t, m) for _, t, m in BAD], ids=[i for i, _, _ in BAD])
def test_a_bad_document_is_refused_in_one_line_naming_the_file_and_place(text, message):
    with pytest.raises(StateFileError) as refused:
        parse_document(text, FILE)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("where", ["time", "json"])
def test_a_number_too_large_to_be_finite_is_refused(where):
    raw = good()
    if where == "time":
        raw["events"][0]["time"] = 12345.5
    else:
        raw["entries"][0]["json"] = {"n": 12345.5}
    with pytest.raises(StateFileError, match=r"^backup.json: not JSON kob can read: 1e400 is beyond the numbers JSON"):
        parse_document(json.dumps(raw).replace("12345.5", "1e400"), FILE)


def test_an_event_holding_nan_is_named_rather_than_exported_as_invalid_json():
    with pytest.raises(StoreError, match=r"^event 9 of kob/site \(scale\) holds NaN or an infinity, which a JSON "):
        document(ENTRIES, [EVENTS[0], Event(9, 11.5, "scale", "x", {"ns": NS, "load": float("nan")})])


def test_an_edited_value_is_refused():
    raw = good()
    raw["entries"][0]["json"]["outcome"] = "failed"
    with pytest.raises(StateFileError, match=r"^backup.json: digest: does not match the document"):
        parse_document(json.dumps(raw), FILE)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "cannot read it: No such file or directory"),
        (lambda p: p.mkdir(), "not a regular file; give the path of a `kob state export`"),
        (lambda p: os.mkfifo(p), "not a regular file; give the path of a `kob state export`"),  # and no hang
        (lambda p: p.write_bytes(b" " * (MAX_FILE_BYTES + 1)), "larger than 256 MiB, the most kob reads"),
        (lambda p: p.write_bytes(b'{"a":\n"\xff\xfe"}'), "not UTF-8 text, which every `kob state export` is"),
    ],
    ids=["missing", "a directory", "a fifo", "too large", "not UTF-8"],
)
def test_a_file_that_is_not_a_readable_document_is_named_in_one_line(tmp_path: Path, make, message):
    path = tmp_path / "backup.json"
    make(path)
    with pytest.raises(StateFileError) as refused:
        read_document(path)
    assert str(refused.value).startswith(f"{path}{':2' if 'UTF-8' in message else ''}: {message}")


JUNK = [None, True, 0, -1, 2**70, 1.5, "", "x", "\x00", "kob/site", [], {}, [1, [2]], {"ns": NS}, {"json": 1}]


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_a_mangled_document_is_read_or_refused_as_a_state_file_error(rng):
    """Any value of a good document replaced by junk, or its text cut or a character changed: either it is a
    valid document or StateFileError, never another exception."""
    raw = good()
    if rng.random() < 0.6:
        spots = list(_spots(raw))
        for _ in range(rng.randint(1, 3)):
            parent, key = rng.choice(spots)
            parent[key] = copy.deepcopy(rng.choice(JUNK))  # never the shared JUNK values themselves
            spots = list(_spots(raw))
        if rng.random() < 0.5 and isinstance(raw, dict):
            raw["digest"] = digest({k: raw.get(k) for k in ("namespace", "samples", "entries", "events")})
        text = json.dumps(raw)
    else:
        text = json.dumps(raw)
        at = rng.randrange(len(text))
        text = text[:at] if rng.random() < 0.5 else text[:at] + rng.choice('{}[]",:0\\') + text[at + 1:]
    note(text)
    try:
        parse_document(text, FILE)
    except StateFileError as refused:
        assert "\n" not in str(refused) and str(refused).startswith(FILE)


def _spots(value):
    """(container, key or index) of every value inside ``value``."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in list(items):
        yield value, key
        yield from _spots(inner)
