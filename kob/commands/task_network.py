"""Host scripts of `kob run`'s get_url, uri and unarchive modules (pure argv).

Downloads and requests run on the host with the first of curl, wget or python3 it has (uri: curl or
python3); every user value is a positional argument, headers are words "Name: value" at the end.
"""

from __future__ import annotations

from kob.commands.task_system import FAIL
from kob.commands.tasks import ATTRIBUTES_TAIL, RESULT_MARK

PYTHON_FETCH = """\
import sys, urllib.request
url, out, timeout, method, strict, *headers = sys.argv[1:]
data = sys.stdin.buffer.read() if method != "GET" else None
request = urllib.request.Request(url, data=data or None, method=method)
for header in headers:
    name, _, value = header.partition(":")
    request.add_header(name.strip(), value.strip())
try:
    response = urllib.request.urlopen(request, timeout=float(timeout))
except urllib.error.HTTPError as error:
    if strict == "1":
        sys.exit(f"HTTP Error {error.code}: {error.reason}")
    response = error
except Exception as error:
    sys.exit(f"Request failed: {error}")
open(out, "wb").write(response.read())
sys.stderr.write("".join(f"{k}: {v}\\n" for k, v in response.headers.items()))
print(response.status)
"""

PYTHON_FETCH_QUOTED = PYTHON_FETCH.replace("'", "'\\''")  # inside '...' of the scripts below

GET_URL_SCRIPT = FAIL + f"""\
url=$1 p=$2 algo=$3 sum=$4 force=$5 check=$6 timeout=$7 mode=$8 owner=$9 group=${{10}}; shift 10
state=present c=0
[ -d "$p" ] && {{ name=${{url%%[?#]*}}; p="$p/${{name##*/}}"; }}
[ -d "$(dirname -- "$p")" ] || fail "Destination dir $(dirname -- "$p") does not exist"
if [ -e "$p" ] && [ "$force" != 1 ] && {{ [ -z "$sum" ] || [ "$("${{algo}}sum" -- "$p" | cut -d' ' -f1)" = "$sum" ]; }}; then
  echo "dest=$p"
{ATTRIBUTES_TAIL}  exit 0
fi
if [ "$check" = 1 ]; then echo "dest=$p"; echo '{RESULT_MARK} changed'; exit 0; fi
tmp=$(mktemp "$p.kob.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT
if command -v curl >/dev/null; then
  for h do shift; set -- "$@" -H "$h"; done
  out=$(curl -fsSL --max-time "$timeout" -o "$tmp" "$@" --url "$url" 2>&1)
elif command -v wget >/dev/null; then
  for h do shift; set -- "$@" "--header=$h"; done
  out=$(wget -q -T "$timeout" -O "$tmp" "$@" -- "$url" 2>&1)
elif command -v python3 >/dev/null; then
  out=$(python3 -c '{PYTHON_FETCH_QUOTED}' "$url" "$tmp" "$timeout" GET 1 "$@" </dev/null 2>&1 >/dev/null)
else
  fail "get_url needs curl, wget or python3 on the host, and it has none of them"
fi || fail "Request failed: $(printf '%s' "$out" | tail -n 1)"
if [ -n "$sum" ] && [ "$("${{algo}}sum" -- "$tmp" | cut -d' ' -f1)" != "$sum" ]; then
  fail "The checksum for $p did not match $sum; it was $("${{algo}}sum" -- "$tmp" | cut -d' ' -f1)"
fi
echo "dest=$p"
if [ -f "$p" ] && cmp -s -- "$tmp" "$p"; then :; else
  c=1
  if [ -e "$p" ]; then chmod --reference="$p" "$tmp"; else chmod "$(printf %o $((0666 & ~$(umask))))" "$tmp"; fi
  mv -f -- "$tmp" "$p" || exit 1
fi
{ATTRIBUTES_TAIL}"""

URI_SCRIPT = FAIL + f"""\
url=$1 method=$2 timeout=$3 body=$4 follow=$5; shift 5
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
if [ "$body" = 1 ]; then cat >"$work/in"; else : >"$work/in"; fi
if command -v curl >/dev/null; then
  for h do shift; set -- "$@" -H "$h"; done
  [ "$follow" = 1 ] && set -- "$@" -L
  [ "$body" = 1 ] && set -- "$@" --data-binary "@$work/in"
  code=$(curl -sS -X "$method" --max-time "$timeout" -D "$work/headers" -o "$work/out" -w '%{{http_code}}' \\
         "$@" --url "$url" 2>"$work/err") || fail "Status code was -1: Request failed: $(tail -n 1 "$work/err")"
elif command -v python3 >/dev/null; then
  code=$(python3 -c '{PYTHON_FETCH_QUOTED}' "$url" "$work/out" "$timeout" "$method" 0 "$@" \\
         <"$work/in" 2>"$work/headers") || fail "Status code was -1: $(tail -n 1 "$work/headers")"
else
  fail "uri needs curl or python3 on the host, and it has neither"
fi
echo "status $code"
echo headers; base64 "$work/headers"
echo body; base64 "$work/out"
echo '{RESULT_MARK} ok'
"""

UNARCHIVE_SCRIPT = FAIL + f"""\
src=$1 dest=$2 remote=$3 check=$4
[ -d "$dest" ] || fail "dest '$dest' must be an existing dir"
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
if [ "$remote" = 1 ]; then [ -f "$src" ] || fail "Source '$src' does not exist"; archive=$src
else archive=$work/archive; cat >"$archive" || exit 1; fi
mkdir "$work/x"
if [ "$(head -c 2 "$archive")" = PK ]; then
  command -v unzip >/dev/null || fail "this host has no unzip, which a zip archive needs"
  out=$(unzip -q -o "$archive" -d "$work/x" 2>&1) || fail "unzip: $(printf '%s' "$out" | tail -n 1)"
else
  out=$(tar -x -p -f "$archive" -C "$work/x" 2>&1) || fail "cannot extract $src (not a tar or zip archive?): \\
$(printf '%s' "$out" | tail -n 1)"
fi
cd "$work/x" || exit 1
differs=$(find . ! -name . -exec sh -c '
  for f do
    if [ -d "$f" ] && [ ! -L "$f" ]; then [ -d "$0/$f" ] || echo "$f"; continue; fi
    if [ -L "$f" ]; then [ "$(readlink -- "$f")" = "$(readlink -- "$0/$f" 2>/dev/null)" ] || echo "$f"; continue; fi
    cmp -s -- "$f" "$0/$f" && [ "$(stat -c %a -- "$f")" = "$(stat -c %a -- "$0/$f")" ] || echo "$f"
  done' "$dest" {{}} + | head -n 1)
[ -z "$differs" ] && {{ echo '{RESULT_MARK} ok'; exit 0; }}
[ "$check" = 1 ] || cp -a -- . "$dest/" || exit 1
echo '{RESULT_MARK} changed'
"""


def get_url_argv(url: str, dest: str, algorithm: str, checksum: str, force: bool, check: bool, timeout: int,
                 mode: str, owner: str, group: str, headers: list[str]) -> list[str]:
    """Download ``url`` to ``dest`` on the host (a folder: the URL's last part in it); kept when it exists and
    ``force`` is off (and its checksum, when given, matches); replaced only when the bytes differ."""
    return ["sh", "-c", GET_URL_SCRIPT, "sh", url, dest, algorithm, checksum, "1" if force else "0",
            "1" if check else "0", str(timeout), mode, owner, group, *headers]


def uri_argv(url: str, method: str, timeout: int, has_body: bool, follow: bool, headers: list[str]) -> list[str]:
    """A request from the host; the body (when ``has_body``) on stdin. Prints the status, then the response
    headers and body in base64."""
    return ["sh", "-c", URI_SCRIPT, "sh", url, method, str(timeout), "1" if has_body else "0", "1" if follow else "0",
            *headers]


def unarchive_argv(src: str, dest: str, remote_src: bool, check: bool) -> list[str]:
    """Extract a tar (any compression tar reads) or zip archive into ``dest``: into a scratch folder first, then
    copied over only when a file, link or mode differs. The archive on stdin unless ``remote_src``."""
    return ["sh", "-c", UNARCHIVE_SCRIPT, "sh", src, dest, "1" if remote_src else "0", "1" if check else "0"]
