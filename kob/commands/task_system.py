"""Host scripts of `kob run`'s stat, fetch, cron, sysctl, user, group and authorized_key modules (pure argv).

As in kob.commands.tasks, every user value is a positional argument of ``sh -c SCRIPT``, never script text;
a script that cannot do its work says why on its last line: ``#kob-result failed WHY``. Secrets (a password
hash) travel on stdin, never on a command line.
"""

from __future__ import annotations

from kob.commands.tasks import RESULT_MARK

FAIL = f'fail() {{ echo "{RESULT_MARK} failed $*"; exit 0; }}\n'

STAT_SCRIPT = FAIL + """\
p=$1 follow=$2 algo=$3
[ "$follow" = 1 ] && L=-L || L=
[ -e "$p" ] || [ -L "$p" ] || { echo exists=0; exit 0; }
stat $L --printf 'exists=1\\ntype=%F\\nmode=%a\\nuid=%u\\ngid=%g\\npw_name=%U\\ngr_name=%G\\nsize=%s\\nmtime=%Y\\n\
atime=%X\\nctime=%Z\\ninode=%i\\ndev=%d\\nnlink=%h\\n' -- "$p" || exit 1
[ -L "$p" ] && printf 'lnk_source=%s\\nlnk_target=%s\\n' "$(readlink -f -- "$p")" "$(readlink -- "$p")"
[ -r "$p" ] && echo readable=1; [ -w "$p" ] && echo writeable=1; [ -x "$p" ] && echo executable=1
if [ -n "$algo" ] && [ -f "$p" ] && [ -r "$p" ]; then
  command -v "${algo}sum" >/dev/null || fail "this host has no ${algo}sum for checksum_algorithm $algo"
  echo "checksum=$("${algo}sum" -- "$p" | cut -d' ' -f1)"
fi
"""

FETCH_SCRIPT = FAIL + """\
p=$1 have=$2
[ -e "$p" ] || exit 3
[ -d "$p" ] && fail "remote file is a directory, fetch cannot work on directories"
[ -r "$p" ] || fail "file is not readable: $p"
sum=$(sha1sum -- "$p" | cut -d' ' -f1) || exit 1
echo "$sum"
[ "$sum" = "$have" ] || base64 -- "$p"
"""

CRONTAB_READ_SCRIPT = FAIL + f"""\
user=$1
command -v crontab >/dev/null || fail "this host has no crontab command (install cron)"
if out=$(crontab -u "$user" -l 2>&1); then [ -z "$out" ] || printf '%s\\n' "$out" | base64
else case $out in *"no crontab for"*) ;; *) fail "$(printf '%s' "$out" | tail -n 1)" ;; esac; fi
echo '{RESULT_MARK} ok'
"""

CRONTAB_WRITE_SCRIPT = FAIL + f"""\
user=$1
out=$(crontab -u "$user" - 2>&1) || fail "crontab: $(printf '%s' "$out" | tail -n 1)"
echo '{RESULT_MARK} changed'
"""

SYSCTL_READ_SCRIPT = FAIL + f"""\
set -f
f=$1 name=$2 want=$3
command -v sysctl >/dev/null || fail "this host has no sysctl command (install procps)"
if [ "$want" = 1 ]; then
  v=$(sysctl -n -- "$name" 2>&1) || fail "$(printf '%s' "$v" | tail -n 1)"
  echo "value" $v
fi
[ -f "$f" ] && {{ echo file; base64 -- "$f"; }}
echo '{RESULT_MARK} ok'
"""

SYSCTL_APPLY_SCRIPT = FAIL + f"""\
name=$1 value=$2 set=$3 reload=$4 f=$5 ignore=$6
if [ "$set" = 1 ]; then out=$(sysctl -q -w "$name=$value" 2>&1) || fail "setting $name failed: $out"; fi
if [ "$reload" = 1 ]; then
  out=$(sysctl -q -p "$f" 2>&1) || [ "$ignore" = 1 ] || fail "Failed to reload sysctl: $(printf '%s' "$out" | tail -n 1)"
fi
echo '{RESULT_MARK} changed'
"""

USER_READ_SCRIPT = FAIL + f"""\
name=$1 kind=$2 haspw=$3 home=$4
command -v "${{kind}}add" >/dev/null || fail "this host has no ${{kind}}add (install passwd)"
want=
[ "$haspw" = 1 ] && want=$(cat)
if [ "$kind" = group ]; then getent group "$name" | sed 's/^/group /'; echo '{RESULT_MARK} ok'; exit 0; fi
if line=$(getent passwd "$name"); then
  echo "passwd $line"
  echo "groups $(id -Gn "$name")"
  echo "primary $(id -gn "$name")"
  [ -n "$home" ] || home=$(printf '%s' "$line" | cut -d: -f6)
  [ -e "$home" ] && echo "home_exists yes" || echo "home_exists no"
  if [ -n "$want" ]; then
    [ "$(getent shadow "$name" | cut -d: -f2)" = "$want" ] && echo "password same" || echo "password differs"
  fi
fi
getent group "$name" >/dev/null && echo "own_group yes"
echo '{RESULT_MARK} ok'
"""

ACCOUNT_WRITE_SCRIPT = FAIL + f"""\
name=$1 kind=$2 setpw=$3; shift 3
hash=
[ "$setpw" = 1 ] && hash=$(cat)
out=$("$@" 2>&1) || fail "$1: $(printf '%s' "$out" | tail -n 1)"
if [ "$setpw" = 1 ]; then
  out=$(printf '%s:%s\\n' "$name" "$hash" | chpasswd -e 2>&1) || fail "chpasswd: $(printf '%s' "$out" | tail -n 1)"
fi
if [ "$kind" = group ]; then getent group "$name" | sed 's/^/group /'; else getent passwd "$name" | sed 's/^/passwd /'; fi
echo '{RESULT_MARK} changed'
"""

HOME_SCRIPT = FAIL + f"""\
name=$1 home=$2
[ -e "$home" ] && {{ echo '{RESULT_MARK} ok'; exit 0; }}
if [ -d /etc/skel ]; then cp -a /etc/skel "$home" || exit 1; else mkdir -p -- "$home" || exit 1; fi
mode=$(awk '$1 == "HOME_MODE" && $2 ~ /^[0-7]+$/ {{ print $2; exit }}' /etc/login.defs 2>/dev/null)
[ -n "$mode" ] || {{ u=$(awk '$1 == "UMASK" && $2 ~ /^[0-7]+$/ {{ print $2; exit }}' /etc/login.defs 2>/dev/null)
  [ -z "$u" ] || mode=$(printf %o $(( 0777 & ~0$u ))); }}
[ -z "$mode" ] || chmod "$mode" -- "$home"
chown -R "$name:$(id -g "$name")" -- "$home" || exit 1
echo '{RESULT_MARK} changed'
"""
"""A missing home made as Ansible's user module makes it: /etc/skel copied, HOME_MODE (or UMASK) of
/etc/login.defs, owned by the user."""

AUTHORIZED_KEYS_READ_SCRIPT = FAIL + f"""\
user=$1 path=$2
line=$(getent passwd "$user") || fail "user $user does not exist"
home=$(printf '%s' "$line" | cut -d: -f6)
[ -n "$path" ] || path=$home/.ssh/authorized_keys
echo "path $path"; echo "group $(id -gn "$user")"; echo "home $home"
[ -f "$path" ] && {{ echo content; base64 -- "$path"; }}
echo '{RESULT_MARK} ok'
"""


def stat_argv(path: str, follow: bool, algorithm: str) -> list[str]:
    """``algorithm``: md5, sha1, sha224, sha256, sha384 or sha512 (the host's *sum program), '' for none."""
    return ["sh", "-c", STAT_SCRIPT, "sh", path, "1" if follow else "0", algorithm]


def fetch_argv(path: str, local_sha1: str) -> list[str]:
    """The file's sha1, then its content in base64 unless the manager's copy has that sum (exit 3: missing)."""
    return ["sh", "-c", FETCH_SCRIPT, "sh", path, local_sha1]


def crontab_read_argv(user: str) -> list[str]:
    return ["sh", "-c", CRONTAB_READ_SCRIPT, "sh", user]


def crontab_write_argv(user: str) -> list[str]:
    """The new crontab goes on stdin."""
    return ["sh", "-c", CRONTAB_WRITE_SCRIPT, "sh", user]


def sysctl_read_argv(path: str, name: str, current: bool) -> list[str]:
    """The sysctl file (base64, after a line 'file') and, when ``current``, the kernel's value ('value V')."""
    return ["sh", "-c", SYSCTL_READ_SCRIPT, "sh", path, name, "1" if current else "0"]


def sysctl_apply_argv(name: str, value: str, set_value: bool, reload: bool, path: str, ignore: bool) -> list[str]:
    return ["sh", "-c", SYSCTL_APPLY_SCRIPT, "sh", name, value, "1" if set_value else "0", "1" if reload else "0",
            path, "1" if ignore else "0"]


def account_read_argv(name: str, kind: str, password_on_stdin: bool = False, home: str = "") -> list[str]:
    """kind user: its passwd line, groups, primary group, whether ``home`` (default its own) exists, whether a
    group of its name exists, and (when ``password_on_stdin``) whether its password hash equals the one on
    stdin; kind group: its group line."""
    return ["sh", "-c", USER_READ_SCRIPT, "sh", name, kind, "1" if password_on_stdin else "0", home]


def home_argv(name: str, home: str) -> list[str]:
    return ["sh", "-c", HOME_SCRIPT, "sh", name, home]


def account_write_argv(name: str, kind: str, command: list[str], set_password: bool) -> list[str]:
    """Run ``command`` (useradd, usermod, userdel, groupadd ...); then, when ``set_password``, set the hash read
    from stdin with chpasswd -e; print the account's line."""
    return ["sh", "-c", ACCOUNT_WRITE_SCRIPT, "sh", name, kind, "1" if set_password else "0", *command]


def authorized_keys_read_argv(user: str, path: str) -> list[str]:
    return ["sh", "-c", AUTHORIZED_KEYS_READ_SCRIPT, "sh", user, path]
