"""Shell scripts of `kob run`'s host modules as argv lists (pure).

Each script ends its output with one line ``#kob-result changed`` or ``#kob-result ok``
(or ``#kob-result failed <why>``); in check mode (``check`` = 1) it only looks. Every
user value reaches the script as a positional argument, never inside the script text.
"""

from __future__ import annotations

RESULT_MARK = "#kob-result"
OLD_BEGIN, OLD_END = "#kob-old-begin", "#kob-old-end"
BACKUP_MARK = "#kob-backup"

ATTRIBUTES_TAIL = f"""\
if [ "$state" != absent ] && {{ [ -e "$p" ] || [ -L "$p" ]; }}; then
  if [ -n "$mode" ] && [ "$(stat -c %a -- "$p")" != "$mode" ]; then
    [ -L "$p" ] && {{ echo "{RESULT_MARK} failed $p is a link, and a link has no mode of its own: leave mode out or set follow: true"; exit 0; }}
    c=1; [ "$check" = 1 ] || chmod "$mode" -- "$p"
  fi
  if [ -n "$owner" ] && [ "$(stat -c %U -- "$p")" != "$owner" ] && [ "$(stat -c %u -- "$p")" != "$owner" ]; then
    c=1; [ "$check" = 1 ] || chown -h "$owner" -- "$p"
  fi
  if [ -n "$group" ] && [ "$(stat -c %G -- "$p")" != "$group" ] && [ "$(stat -c %g -- "$p")" != "$group" ]; then
    c=1; [ "$check" = 1 ] || chgrp -h "$group" -- "$p"
  fi
fi
[ "$c" = 1 ] && echo '{RESULT_MARK} changed' || echo '{RESULT_MARK} ok'
"""

HOME_PATH = 'case $p in "~/"*) p=$HOME/${p#"~/"} ;; esac\n'
"""A path written ~/x is in the home of the user the command runs as (as Ansible expands it)."""

FILE_SCRIPT = f"""\
p=$1 state=$2 mode=$3 owner=$4 group=$5 check=$6 follow=${{7:-1}} c=0
{HOME_PATH}[ "$follow" = 1 ] && [ "$state" != absent ] && [ -L "$p" ] && [ -e "$p" ] && p=$(readlink -f -- "$p")
case $state in
  directory) [ -d "$p" ] || {{ c=1; [ "$check" = 1 ] || {{
    set --; d=$p; while [ ! -e "$d" ] && [ ! -L "$d" ]; do set -- "$d" "$@"; d=$(dirname -- "$d"); done
    for d do
      mkdir -- "$d" || exit 1
      [ -z "$mode" ] || chmod "$mode" -- "$d"; [ -z "$owner" ] || chown "$owner" -- "$d"
      [ -z "$group" ] || chgrp "$group" -- "$d"
    done
    [ -d "$p" ] || {{ echo "{RESULT_MARK} failed $p exists and is not a directory"; exit 0; }}; }}; }} ;;
  absent) if [ -e "$p" ] || [ -L "$p" ]; then c=1; [ "$check" = 1 ] || rm -rf -- "$p" || exit 1; fi ;;
  touch) [ -e "$p" ] || {{ c=1; [ "$check" = 1 ] || touch -- "$p" || exit 1; }} ;;
  file) [ -f "$p" ] || {{ echo "{RESULT_MARK} failed $p is not a regular file (state: file does not create one)"; exit 0; }} ;;
esac
{ATTRIBUTES_TAIL}"""

COPY_SCRIPT = f"""\
p=$1 sum=$2 mode=$3 owner=$4 group=$5 check=$6 diff=$7 state=present c=0 backup=0
[ $# -ge 8 ] && {{ backup=$8; shift 8; }} || set --
{HOME_PATH}[ -d "$p" ] && {{ cat >/dev/null; echo "{RESULT_MARK} failed $p is a directory; give the file's own path as dest"; exit 0; }}
now=$(sha256sum -- "$p" 2>/dev/null | cut -d' ' -f1)
if [ "$now" = "$sum" ]; then
  cat >/dev/null
else
  c=1
  if [ "$diff" = 1 ]; then echo '{OLD_BEGIN}'; [ -f "$p" ] && base64 -- "$p"; echo '{OLD_END}'; fi
  if [ "$check" = 1 ]; then cat >/dev/null; else
    tmp=$(mktemp "$p.kob.XXXXXX") || exit 1
    cat >"$tmp" || {{ rm -f "$tmp"; exit 1; }}
    if [ -e "$p" ]; then chmod --reference="$p" "$tmp"; else chmod "$(printf %o $((0666 & ~$(umask))))" "$tmp"; fi
    if [ $# -gt 0 ]; then
      for w do shift; case $w in *%s*) w=${{w%%"%s"*}}$tmp${{w#*"%s"}} ;; esac; set -- "$@" "$w"; done
      out=$("$@" 2>&1) || {{ rm -f "$tmp"; echo "{RESULT_MARK} failed validation with $1 failed: $(echo "$out" | tail -n 1)"; exit 0; }}
    fi
    if [ "$backup" = 1 ] && [ -f "$p" ]; then
      b="$p.$$.$(date +%Y-%m-%d@%H:%M:%S)~"; cp -p -- "$p" "$b" || exit 1; echo "{BACKUP_MARK} $b"
    fi
    mv -f -- "$tmp" "$p" || exit 1
  fi
fi
[ "$check" = 1 ] && [ ! -e "$p" ] && state=absent
{ATTRIBUTES_TAIL}"""


def file_argv(path: str, state: str, mode: str, owner: str, group: str, check: bool, follow: bool = True) -> list[str]:
    """``follow``: a link's target is what a state other than absent looks at and changes (Ansible's default)."""
    return ["sh", "-c", FILE_SCRIPT, "sh", path, state, mode, owner, group, _flag(check), _flag(follow)]


def copy_argv(path: str, sha256: str, mode: str, owner: str, group: str, check: bool, diff: bool,
              backup: bool = False, validate: list[str] | None = None) -> list[str]:
    """The new content goes on stdin. ``validate``: a command's words, one holding %s (the new file, checked
    before it replaces the old one); ``backup``: the old file is kept as PATH.PID.DATE@TIME~ first."""
    extra = [_flag(backup), *(validate or ())] if backup or validate else []
    return ["sh", "-c", COPY_SCRIPT, "sh", path, sha256, mode, owner, group, _flag(check), _flag(diff), *extra]


def exists_argv(path: str) -> list[str]:
    return ["test", "-e", path]


def command_argv(words: list[str], chdir: str | None) -> list[str]:
    """A program and its arguments, without a shell."""
    return ["sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", chdir, *words] if chdir else list(words)


def shell_argv(script: str, chdir: str | None) -> list[str]:
    """The user's shell script, as one argument of sh -c."""
    return ["sh", "-c", 'cd "$1" && exec sh -c "$2"', "sh", chdir, script] if chdir else ["sh", "-c", script]


def octal_mode(mode: str | int | None) -> str:
    """'0644' or 644 as stat prints it ('644'); '' when not given. Digits are octal, written or not with a 0."""
    if mode is None or mode == "":
        return ""
    text = str(mode)
    if not text.isdigit() or any(digit in text for digit in "89"):
        raise ValueError(f"mode {mode!r} should be octal, like 0644")
    return format(int(text, 8), "o")


def _flag(value: bool) -> str:
    return "1" if value else "0"


WAIT_SCRIPT = f"""\
kind=$1 what=$2 host=$3 state=$4 timeout=$5 delay=$6
sleep "$delay"
end=$(( $(date +%s) + timeout ))
while :; do
  if [ "$kind" = port ]; then
    timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$what" 2>/dev/null && found=1 || found=0
  else
    [ -e "$what" ] && found=1 || found=0
  fi
  case $state in started|present) [ "$found" = 1 ] && break ;; *) [ "$found" = 0 ] && break ;; esac
  [ "$(date +%s)" -ge "$end" ] && {{ echo "{RESULT_MARK} failed timeout: $kind $what not $state after $timeout s"; exit 0; }}
  sleep 0.5
done
echo '{RESULT_MARK} ok'
"""


def wait_argv(kind: str, what: str, host: str, state: str, timeout: int, delay: int) -> list[str]:
    """Wait until a TCP port answers (or stops), or a path appears (or goes); never a change."""
    return ["sh", "-c", WAIT_SCRIPT, "sh", kind, what, host, state, str(timeout), str(delay)]


def read_argv(path: str) -> list[str]:
    """A file's content, base64 (exit 3 when it does not exist)."""
    return ["sh", "-c", f'p=$1; {HOME_PATH}[ -e "$p" ] || exit 3; base64 -- "$p"', "sh", path]


DOCKER_IMAGE_SCRIPT = f"""\
name=$1 state=$2 check=$3
if docker image inspect "$name" >/dev/null 2>&1; then have=1; else have=0; fi
if [ "$state" = present ] && [ "$have" = 0 ]; then
  [ "$check" = 1 ] || docker pull -q "$name" >/dev/null || {{ echo "{RESULT_MARK} failed cannot pull $name"; exit 0; }}
  echo '{RESULT_MARK} changed'
elif [ "$state" = absent ] && [ "$have" = 1 ]; then
  [ "$check" = 1 ] || docker rmi "$name" >/dev/null || exit 1
  echo '{RESULT_MARK} changed'
else
  echo '{RESULT_MARK} ok'
fi
"""

# $1 name, $2 state, $3 spec digest, $4 check; then the `docker run` arguments after the name
DOCKER_CONTAINER_SCRIPT = f"""\
name=$1 state=$2 digest=$3 check=$4; shift 4
found=$(docker inspect --format '{{{{index .Config.Labels "kob.task-spec"}}}} {{{{.State.Running}}}}' "$name" 2>/dev/null) \
  || found=""
spec=${{found% *}} running=${{found#* }}
c=0
if [ "$state" = absent ]; then
  [ -n "$found" ] && {{ c=1; [ "$check" = 1 ] || docker rm -f "$name" >/dev/null || exit 1; }}
elif [ -z "$found" ] || [ "$spec" != "$digest" ]; then
  c=1
  if [ "$check" != 1 ]; then
    [ -n "$found" ] && {{ docker rm -f "$name" >/dev/null || exit 1; }}
    docker run -d --name "$name" --label "kob.task-spec=$digest" "$@" >/dev/null || exit 1
    [ "$state" = stopped ] && {{ docker stop "$name" >/dev/null || exit 1; }}
  fi
elif [ "$state" = started ] && [ "$running" != true ]; then
  c=1; [ "$check" = 1 ] || docker start "$name" >/dev/null || exit 1
elif [ "$state" = stopped ] && [ "$running" = true ]; then
  c=1; [ "$check" = 1 ] || docker stop "$name" >/dev/null || exit 1
fi
[ "$c" = 1 ] && echo '{RESULT_MARK} changed' || echo '{RESULT_MARK} ok'
"""

SERVICE_SCRIPT = f"""\
name=$1 state=$2 enabled=$3 check=$4 c=0
command -v systemctl >/dev/null && [ -d /run/systemd/system ] \
  || {{ echo "{RESULT_MARK} failed this host does not run systemd"; exit 0; }}
act() {{ c=1; [ "$check" = 1 ] || systemctl "$1" "$name" || exit 1; }}
case $state in
  started) systemctl is-active --quiet "$name" || act start ;;
  stopped) ! systemctl is-active --quiet "$name" || act stop ;;
  restarted|reloaded) act "${{state%ed}}" ;;
esac
case $enabled in
  true) systemctl is-enabled --quiet "$name" || act enable ;;
  false) ! systemctl is-enabled --quiet "$name" || act disable ;;
esac
[ "$c" = 1 ] && echo '{RESULT_MARK} changed' || echo '{RESULT_MARK} ok'
"""

APT_SCRIPT = f"""\
set -f
state=$1 update=$2 check=$3 valid=$4; shift 4
command -v dpkg-query >/dev/null && command -v apt-get >/dev/null \
  || {{ echo "{RESULT_MARK} failed this host has no apt-get (kob's apt and package drive apt only)"; exit 0; }}
if [ "$update" = 1 ] && [ "$valid" -gt 0 ]; then
  newest=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists/* 2>/dev/null | sort -n | tail -n 1)
  [ -n "$newest" ] && [ $(( $(date +%s) - newest )) -lt "$valid" ] && update=0
fi
missing="" present=""
for p in "$@"; do
  if dpkg-query -W -f='${{Status}}' "$p" 2>/dev/null | grep -q 'install ok installed'; then present="$present $p"
  else missing="$missing $p"; fi
done
export DEBIAN_FRONTEND=noninteractive
case $state in
  present) todo=$missing ;;
  absent) todo=$present ;;
  latest) up=$(apt list --upgradable 2>/dev/null | cut -d/ -f1); todo=$missing
          for p in $present; do echo "$up" | grep -qx -- "$p" && todo="$todo $p"; done ;;
esac
todo=$(echo $todo)
[ -z "$todo" ] && {{ echo '{RESULT_MARK} ok'; exit 0; }}
if [ "$check" != 1 ]; then
  [ "$update" = 1 ] && {{ apt-get update -qq || {{ echo "{RESULT_MARK} failed apt-get update failed: no package mirror answers"; exit 0; }}; }}
  if [ "$state" = absent ]; then apt-get remove -y -qq $todo || exit 1
  else apt-get install -y -qq --no-install-recommends $todo \
    || {{ echo "{RESULT_MARK} failed apt-get install$todo failed (no package mirror, or no such package)"; exit 0; }}; fi
fi
echo "{RESULT_MARK} changed"
"""


def docker_image_argv(name: str, state: str, check: bool) -> list[str]:
    return ["sh", "-c", DOCKER_IMAGE_SCRIPT, "sh", name, state, _flag(check)]


def docker_container_argv(name: str, state: str, digest: str, run_args: list[str], check: bool) -> list[str]:
    """``run_args``: what follows `docker run -d --name NAME` (options, the image, its command)."""
    return ["sh", "-c", DOCKER_CONTAINER_SCRIPT, "sh", name, state, digest, _flag(check), *run_args]


def service_argv(name: str, state: str, enabled: bool | None, check: bool) -> list[str]:
    flag = "" if enabled is None else ("true" if enabled else "false")
    return ["sh", "-c", SERVICE_SCRIPT, "sh", name, state, flag, _flag(check)]


def apt_argv(packages: list[str], state: str, update_cache: bool, check: bool, cache_valid_time: int = 0) -> list[str]:
    """``cache_valid_time``: seconds; the update is skipped while apt's lists are newer than that."""
    return ["sh", "-c", APT_SCRIPT, "sh", state, _flag(update_cache), _flag(check), str(cache_valid_time), *packages]
