"""State URLs: one parser (kob.spec.state_url) behind both the inventory loader and open_store.

The ACCEPTED table holds every form README.md documents for ``state:``; REFUSED
holds the mistakes, each with the message the loader shows at file:line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kob.errors import SpecError, StoreError
from kob.spec.inventory import load_inventory
from kob.spec.state_url import EtcdEndpoint, StateUrl, parse_state_url
from kob.store import open_store
from kob.store.etcd import EtcdStore
from kob.store.memory import MemoryStore
from kob.store.sqlite import SqliteStore

FOLDER = Path("/srv/site")  # the inventory's folder in the parser tables
HOST = "hosts:\n  vm1: {address: 198.18.0.11}\n"


def sqlite(path: str) -> StateUrl:
    return StateUrl("sqlite", f"sqlite://{path}", path=Path(path))


def etcd(url: str, *endpoints: tuple[str, int], namespace: str = "/kob/") -> StateUrl:
    return StateUrl("etcd", url, endpoints=tuple(EtcdEndpoint(*e) for e in endpoints), namespace=namespace)


# (written, parsed with FOLDER as the inventory's folder)
ACCEPTED = [
    ("kob.db", sqlite("/srv/site/kob.db")),
    ("data/kob.db", sqlite("/srv/site/data/kob.db")),
    ("../shared/kob.db", sqlite("/srv/shared/kob.db")),
    ("/var/lib/kob/kob.db", sqlite("/var/lib/kob/kob.db")),
    ("sqlite:///var/lib/kob/kob.db", sqlite("/var/lib/kob/kob.db")),
    ("sqlite:///var/lib/kob/../kob.db", sqlite("/var/lib/kob.db")),
    ("sqlite:////var/lib/kob/kob.db", sqlite("/var/lib/kob/kob.db")),
    ("etcd://198.18.0.1:2379", etcd("etcd://198.18.0.1:2379", ("198.18.0.1", 2379))),
    ("etcd://198.18.0.1:2379,198.18.0.2:2379",
     etcd("etcd://198.18.0.1:2379,198.18.0.2:2379", ("198.18.0.1", 2379), ("198.18.0.2", 2379))),
    ("etcd://etcd.lan", etcd("etcd://etcd.lan", ("etcd.lan", 2379))),
    ("etcd://198.18.0.1,198.18.0.2:12379",
     etcd("etcd://198.18.0.1,198.18.0.2:12379", ("198.18.0.1", 2379), ("198.18.0.2", 12379))),
    ("etcd://a.lan,b.lan:12379", etcd("etcd://a.lan,b.lan:12379", ("a.lan", 2379), ("b.lan", 12379))),
    ("etcd://[fd00::1]:2379", etcd("etcd://[fd00::1]:2379", ("fd00::1", 2379))),
    ("etcd://[fd00::1]", etcd("etcd://[fd00::1]", ("fd00::1", 2379))),
    ("etcd://198.18.0.1:2379/team-a",
     etcd("etcd://198.18.0.1:2379/team-a", ("198.18.0.1", 2379), namespace="/team-a/")),
    ("etcd://198.18.0.1/prod/eu/", etcd("etcd://198.18.0.1/prod/eu/", ("198.18.0.1", 2379), namespace="/prod/eu/")),
    ("ETCD://198.18.0.1:2379", etcd("etcd://198.18.0.1:2379", ("198.18.0.1", 2379))),
    ("http://198.18.0.1:2379", etcd("http://198.18.0.1:2379", ("198.18.0.1", 2379))),
    ("http://198.18.0.1:2379/", etcd("http://198.18.0.1:2379/", ("198.18.0.1", 2379))),
    ("http://a.lan:2379,b.lan:2379/team-a",
     etcd("http://a.lan:2379,b.lan:2379/team-a", ("a.lan", 2379), ("b.lan", 2379), namespace="/team-a/")),
    ("memory://", StateUrl("memory", "memory://")),
]

# (written in inventory.yaml's line 1, the message after "inventory.yaml:1: state: ")
REFUSED = [
    ("redis://198.18.0.1:6379", "unsupported state URL 'redis://198.18.0.1:6379'; use etcd://host:port[,host:port], "
                                "http://host:port, sqlite:///absolute/path or a file path"),
    ("file:///var/lib/kob.db", "unsupported state URL 'file:///var/lib/kob.db'; use etcd://"),
    ("https://198.18.0.1:2379", "'https://198.18.0.1:2379': https:// (TLS) is not supported, kob's etcd client "
                                "connects in plain text; write etcd://198.18.0.1:2379 for an etcd that listens "
                                "without TLS"),
    ("sqlite://state.db", "'sqlite://state.db': sqlite URLs need an absolute path, like "
                          "sqlite:///var/lib/kob/state.db; or write a plain path relative to the inventory's folder"),
    ("sqlite:///", "'sqlite:///' names a folder; name the database file in it, like /kob.db"),
    ("state/", "'state/' names a folder; name the database file in it, like {dir}/state/kob.db"),
    ("198.18.0.1:2379", "'198.18.0.1:2379' looks like an etcd address; write etcd://198.18.0.1:2379 "
                        "(or ./198.18.0.1:2379 for a file of that name)"),
    ("memory://", "memory:// keeps state inside one process, so every kob command would start empty; "
                  "use a file path or etcd://host:port"),
    ("memory://x", "'memory://x': memory:// takes nothing after it; write memory://"),
    ("etcd://", "etcd:// needs at least one endpoint, like etcd://198.18.0.1:2379"),
    ("http:///team-a", "http:// needs at least one endpoint, like http://198.18.0.1:2379"),
    ("etcd://198.18.0.1:2379,", "empty endpoint in state URL; use etcd://host:port[,host:port], http://host:port, "
                                "sqlite:///absolute/path or a file path"),
    ("etcd://198.18.0.1:99999", "state URL endpoint '198.18.0.1:99999' has a bad port; use a number from 1 to 65535"),
    ("'etcd://198.18.0.1:'", "state URL endpoint '198.18.0.1:' has a bad port; use a number from 1 to 65535"),
    ("etcd://host:port", "state URL endpoint 'host:port' has a bad port; use a number from 1 to 65535"),
    ("etcd://a:2379,:2379", "state URL endpoint ':2379': '' is not a valid IP address or DNS name"),
    ("etcd://under_score:2379", "state URL endpoint 'under_score:2379': 'under_score' is not a valid IP address"),
    ("etcd://a:2379,a", "state URL names endpoint a:2379 twice; list each etcd member once"),
    ("etcd://fd00::1", "state URL endpoint 'fd00::1': write an IPv6 address in brackets, like [fd00::1]:2379"),
    ("etcd://[fd00::1", "state URL endpoint '[fd00::1' is not [IPv6 address]:port, like [fd00::1]:2379"),
    ("etcd://[vm1]:2379", "state URL endpoint '[vm1]:2379': brackets are for IPv6 addresses only; write vm1:2379"),
    ("etcd://[fd00::zz]:2379", "state URL endpoint '[fd00::zz]:2379': 'fd00::zz' is not a valid IPv6 address"),
    ("etcd://root:secret@198.18.0.1:2379", "state URL endpoint '***@198.18.0.1:2379' carries a user name; "
                                           "kob's etcd client does not log in, so write host:port"),
    ("https://root:secret@198.18.0.1:2379", "'https://***@198.18.0.1:2379': https:// (TLS) is not supported"),
    ("http://a:2379,http://b:2379", "state URL http://a:2379,http://b:2379 repeats its scheme; write it once, "
                                    "like http://a:2379,b:2379"),
    ("etcd://a:2379/team a", "state URL namespace 'team a' may hold only letters, digits, '.', '_' and '-'"),
    ("etcd://a:2379/a//b", "state URL namespace 'a//b' may hold only letters"),
    ("etcd://a:2379/ns?x=1", "state URL namespace 'ns?x=1' may hold only letters"),
    ("''", "should not be empty"),
    ("[etcd://a:2379]", "should be a string, got a list"),
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The cwd, holding the folders the inventories below name."""
    (tmp_path / "state").mkdir()
    (tmp_path / "plain").write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load_state(folder: Path, written: str) -> str:
    (folder / "inventory.yaml").write_text(f"state: {written}\n{HOST}")
    return load_inventory("inventory.yaml").state_url


# -- the parser ----------------------------------------------------------------


@pytest.mark.parametrize(("written", "parsed"), ACCEPTED, ids=[case[0] for case in ACCEPTED])
def test_every_documented_form_parses(written, parsed):
    assert parse_state_url(written, FOLDER) == parsed


@pytest.mark.parametrize(("written", "parsed"), ACCEPTED, ids=[case[0] for case in ACCEPTED])
def test_parsing_the_kept_url_again_gives_the_same_value(written, parsed):
    assert parse_state_url(parse_state_url(written, FOLDER).url, Path("/elsewhere")) == parsed


def test_every_state_example_in_the_readme_is_in_the_table():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    examples = [value for value in re.findall(r"^ +state: (\S+)", readme, flags=re.MULTILINE)
                if "/" in value or "." in value]  # not a playbook task's state: present
    assert examples and not set(examples) - {written for written, _ in ACCEPTED}


def test_home_relative_path(monkeypatch):
    monkeypatch.setenv("HOME", "/home/ops")
    assert parse_state_url("~/kob.db", FOLDER) == sqlite("/home/ops/kob.db")


def test_endpoint_text_brackets_ipv6():
    assert [str(e) for e in parse_state_url("etcd://[fd00::1],vm1:12379", FOLDER).endpoints] == [
        "[fd00::1]:2379", "vm1:12379"]


# -- the inventory loader --------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "url"),
    [
        ("state/kob.db", "sqlite://{dir}/state/kob.db"),
        ("./state/../kob.db", "sqlite://{dir}/kob.db"),
        ("sqlite://{dir}/state/kob.db", "sqlite://{dir}/state/kob.db"),
        ("etcd://198.18.0.1:2379", "etcd://198.18.0.1:2379"),
        ("etcd://etcd.lan/team-a", "etcd://etcd.lan/team-a"),
        ("'etcd://[fd00::1]:2379'", "etcd://[fd00::1]:2379"),
        ("http://198.18.0.1:2379/", "http://198.18.0.1:2379/"),
    ],
)
def test_loader_keeps_the_parsed_url(folder, written, url):
    assert load_state(folder, written.format(dir=folder)) == url.format(dir=folder)


def test_loader_default_is_beside_the_inventory(folder):
    (folder / "inventory.yaml").write_text(HOST)
    assert load_inventory("inventory.yaml").state_url == f"sqlite://{folder}/inventory.kob.db"


@pytest.mark.parametrize(("written", "message"), REFUSED, ids=[case[0] for case in REFUSED])
def test_loader_refuses_with_file_line_and_key(folder, written, message):
    with pytest.raises(SpecError) as raised:
        load_state(folder, written)
    assert str(raised.value).startswith("inventory.yaml:1: state: " + message.format(dir=folder))


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("missing/kob.db", "inventory.yaml:1: state: folder {dir}/missing of the state file does not exist "
                           "(relative paths start at the folder of this file); "
                           "create it (mkdir -p {dir}/missing) or pick another path"),
        ("{dir}/missing/kob.db", "inventory.yaml:1: state: folder {dir}/missing of the state file does not exist; "
                                 "create it (mkdir -p {dir}/missing) or pick another path"),
        ("sqlite://{dir}/missing/kob.db", "inventory.yaml:1: state: folder {dir}/missing of the state file does not "
                                          "exist; create it (mkdir -p {dir}/missing) or pick another path"),
        ("plain/kob.db", "inventory.yaml:1: state: folder {dir}/plain of the state file does not exist"),
        ("state", "inventory.yaml:1: state: state file {dir}/state is a folder; "
                  "name the database file in it, like {dir}/state/kob.db"),
    ],
)
def test_loader_checks_the_state_folder(folder, written, message):
    with pytest.raises(SpecError) as raised:
        load_state(folder, written.format(dir=folder))
    assert str(raised.value).startswith(message.format(dir=folder))


def test_loader_names_the_line_of_state(folder):
    (folder / "inventory.yaml").write_text(f"{HOST}\n# where state lives\nstate: https://etcd.lan\n")
    with pytest.raises(SpecError, match=r"^inventory\.yaml:5: state: 'https://etcd\.lan': https://"):
        load_inventory("inventory.yaml")


# -- open_store ------------------------------------------------------------------


NOT_FILES = [case for case in ACCEPTED if case[1].kind != "sqlite"]


@pytest.mark.parametrize(("written", "parsed"), NOT_FILES, ids=[case[0] for case in NOT_FILES])
def test_open_store_builds_the_backend_the_parser_names(written, parsed):
    store = open_store(parse_state_url(written, FOLDER))
    if parsed.kind == "etcd":
        assert isinstance(store, EtcdStore)
        assert store.endpoints == [(e.url_host, e.port) for e in parsed.endpoints]
        assert store.namespace == parsed.namespace
    else:
        assert isinstance(store, MemoryStore)


def test_open_store_opens_the_sqlite_file_the_parser_names(tmp_path):
    (tmp_path / "state").mkdir()
    store = open_store(parse_state_url("state/kob.db", tmp_path))
    assert isinstance(store, SqliteStore) and store.path == f"{tmp_path}/state/kob.db"


@pytest.mark.parametrize(
    ("url", "endpoints", "text", "namespace"),
    [
        ("etcd://10.0.0.1:2379", [("10.0.0.1", 2379)], "10.0.0.1:2379", "/kob/"),
        ("etcd://a:2379,b:12379", [("a", 2379), ("b", 12379)], "a:2379,b:12379", "/kob/"),
        ("etcd://etcd.lan", [("etcd.lan", 2379)], "etcd.lan:2379", "/kob/"),
        ("etcd://[::1]:2379/team-a", [("[::1]", 2379)], "[::1]:2379", "/team-a/"),
        ("http://127.0.0.1:2379/", [("127.0.0.1", 2379)], "127.0.0.1:2379", "/kob/"),
    ],
)
def test_open_store_parses_a_url_string(url, endpoints, text, namespace):
    store = open_store(url)
    assert isinstance(store, EtcdStore)
    assert (store.endpoints, store.endpoints_text, store.namespace) == (endpoints, text, namespace)


def test_open_store_resolves_a_relative_path_from_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert open_store("kob.db").path == f"{tmp_path}/kob.db"
    assert open_store("memory://").__class__ is MemoryStore


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "store URL '': the state URL is empty; use etcd://host:port[,host:port]"),
        ("https://etcd:2379", "'https://etcd:2379': https:// (TLS) is not supported"),
        ("sqlite://relative.db", "'sqlite://relative.db': sqlite URLs need an absolute path"),
        ("memory://somewhere", "'memory://somewhere': memory:// takes nothing after it"),
        ("redis://localhost", "unsupported state URL 'redis://localhost'"),
        ("etcd://", "store URL 'etcd://': etcd:// needs at least one endpoint"),
        ("etcd://host:port", "store URL 'etcd://host:port': state URL endpoint 'host:port' has a bad port"),
        ("etcd://a:2379,:2379", "state URL endpoint ':2379': '' is not a valid IP address or DNS name"),
        ("sqlite:///no/such/dir/kob.db", "sqlite store /no/such/dir/kob.db: directory /no/such/dir does not exist"),
    ],
)
def test_open_store_refuses_with_one_line_store_errors(url, message):
    with pytest.raises(StoreError) as raised:
        open_store(url)
    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda store: store.put("", b"x"), ValueError),
        (lambda store: store.put("key", "text, not bytes"), TypeError),
        (lambda store: store.acquire_lock("deploy", "me", ttl=0), ValueError),
        (lambda store: store.trim_events(-1), ValueError),
    ],
)
async def test_misuse_is_refused_before_any_write(call, error):
    store = open_store("memory://")
    with pytest.raises(error):
        await call(store)
    assert await store.list("") == []
