"""TLS certificates of an inventory's HAProxy on an lb host: shipped on stdin, rotated at runtime (pure builders).

Each TLS frontend's PEM (chain and key) lives at ``<certs dir>/<frontend>.pem``, the folder mode 0700 and the
file 0600, both root's. The PEM travels only on the command's stdin, never in its argv.
"""

from __future__ import annotations

import shlex

# install_cert_argv's exit code when HAProxy refused the new certificate at runtime (the old one keeps serving,
# the old file stays: the next deploy tries again)
EXIT_CERT_REFUSED = 6

_INSTALL_CERT = f"""\
path=$1 sock=$2
umask 077
dir=$(dirname "$path")
mkdir -p "$dir" && chmod 700 "$dir" || exit 1
tmp=$(mktemp "$path.kob-XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT
cat >"$tmp" && chmod 600 "$tmp" || exit 1
if cmp -s "$tmp" "$path"; then echo unchanged; exit 0; fi
api() {{ socat -t 5 stdio "UNIX-CONNECT:$sock" 2>/dev/null; }}
if [ -S "$sock" ] && printf 'show ssl cert %s\\n' "$path" | api | grep -q '^Filename:'; then
  reply=$({{ printf 'set ssl cert %s <<\\n' "$path"; cat "$tmp"; printf '\\n'; }} | api)
  case $reply in *"Transaction created"*|*"Transaction updated"*) ;;
    *) printf 'abort ssl cert %s\\n' "$path" | api >/dev/null
       echo "HAProxy refused the certificate: $(echo "$reply" | grep -v -- ----- | head -n1)" >&2
       exit {EXIT_CERT_REFUSED};; esac
  reply=$(printf 'commit ssl cert %s\\n' "$path" | api)
  case $reply in *Success*) ;;
    *) echo "HAProxy did not commit the certificate: $(echo "$reply" | grep -v -- ----- | head -n1)" >&2
       exit {EXIT_CERT_REFUSED};; esac
  mv -f "$tmp" "$path" || exit 1
  echo rotated
else
  mv -f "$tmp" "$path" || exit 1
  echo written
fi
"""


def cert_path(certs_dir: str, frontend: str) -> str:
    return f"{certs_dir}/{frontend}.pem"


def install_cert_argv(path: str, socket: str) -> list[str]:
    """Install the PEM read on stdin at ``path`` (mode 0600, folder 0700).

    Prints one word: unchanged (same bytes), rotated (the running HAProxy serves it now, through its runtime API's
    ``set ssl cert`` and ``commit ssl cert``: no connection is dropped and no reload is needed), or written (HAProxy
    does not serve this path yet: its next start or reload reads the file). The file is replaced only after
    HAProxy took the new one, so one it refused is sent again by the next deploy.
    """
    return ["sh", "-c", _INSTALL_CERT, "kob-install-cert", path, socket]


def prune_certs_argv(certs_dir: str, keep: list[str]) -> list[str]:
    """Remove the ``*.pem`` files of ``certs_dir`` other than the ``keep`` names (frontends no longer TLS);
    the folder too once it is empty."""
    script = ('dir=$1; shift; for f in "$dir"/*.pem; do [ -f "$f" ] || continue; name=${f##*/}; keep=0; '
              'for k in "$@"; do [ "$k" = "$name" ] && keep=1; done; [ $keep = 1 ] || rm -f "$f"; done; '
              'rmdir "$dir" 2>/dev/null; true')
    return ["sh", "-c", script, "kob-prune-certs", certs_dir, *keep]


def cert_digests_script(certs_dir: str) -> str:
    """One line "NAME.pem:SHA256 ... -" of the PEM files in ``certs_dir`` (for the observe command)."""
    folder = shlex.quote(certs_dir)
    return (f'for f in {folder}/*.pem; do [ -f "$f" ] || continue; '
            'printf "%s:%s " "${f##*/}" "$(sha256sum <"$f" | cut -c1-64)"; done; echo -')
