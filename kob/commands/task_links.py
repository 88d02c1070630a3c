"""The file module's state=link and state=hard as one shell script (pure builder; Ansible's semantics).

A symbolic link: a relative src is taken from the link's folder (as `ln -s` does); a src that does not exist,
or a file, hard link or empty folder in the link's place, needs force; a folder with files in it is never
replaced. A hard link: src must exist; a file or another hard link in its place needs force.
A link is replaced through a temporary name, so it never goes missing. With follow (the default),
mode/owner/group go to what the link points to (nothing when that does not exist); without, owner and group
go to the link itself. Every user value is a positional argument of the script.
"""

from __future__ import annotations

from kob.commands.tasks import ATTRIBUTES_TAIL, HOME_PATH, RESULT_MARK

LINK_SCRIPT = f"""\
p=$1 src=$2 kind=$3 force=$4 follow=$5 mode=$6 owner=$7 group=$8 check=$9 state=present c=0
{HOME_PATH}case $src in "~/"*) src=$HOME/${{src#"~/"}} ;; esac
fail() {{ echo "{RESULT_MARK} failed $*"; exit 0; }}
was() {{
  if [ -L "$1" ]; then echo link; elif [ -d "$1" ]; then echo directory
  elif [ -e "$1" ]; then [ "$(stat -c %h -- "$1")" -gt 1 ] && echo hard || echo file; else echo absent; fi
}}
put() {{  # $1: ln's option (-s symbolic, -L hard to what src points to); a new link renamed over the old
  if [ "$prev" = absent ]; then err=$(ln $1 -- "$src" "$p" 2>&1) || fail "Error while linking: $err"; return; fi
  t=$(dirname -- "$p")/.kob-link.$$
  [ "$prev" = directory ] && {{ rmdir -- "$p" || exit 1; }}
  err=$(ln $1 -- "$src" "$t" 2>&1 && mv -Tf -- "$t" "$p" 2>&1) || {{ rm -f -- "$t"; fail "Error while replacing: $err"; }}
}}
prev=$(was "$p")
if [ "$kind" = link ]; then
  if [ -z "$src" ]; then
    [ "$prev" = link ] || fail "src is required for creating new symlinks"
  else
    case $src in /*) abs=$src ;; *) if [ "$prev" = directory ]; then abs=$p/$src; else abs=$(dirname -- "$p")/$src; fi ;; esac
    [ "$force" = 1 ] || [ -e "$abs" ] || fail "src file does not exist, use 'force=yes' if you really want to create the link: $abs"
    case $prev in
      directory) [ "$force" = 1 ] || fail "refusing to convert from directory to symlink for $p"
                 [ -z "$(ls -A -- "$p")" ] || fail "the directory $p is not empty, refusing to convert it" ;;
      file|hard) [ "$force" = 1 ] || fail "refusing to convert from $prev to symlink for $p" ;;
    esac
    [ "$prev" = link ] && [ "$(readlink -- "$p")" = "$src" ] || {{ c=1; [ "$check" = 1 ] || put -s; }}
  fi
else
  [ -d "$p" ] && [ ! -L "$p" ] && [ -n "$src" ] && {{ p=$p/$(basename -- "$src"); prev=$(was "$p"); }}
  [ -n "$src" ] || [ "$prev" = hard ] || fail "src is required for creating new hardlinks"
  [ -z "$src" ] || [ -e "$src" ] || fail "src does not exist"
  case $prev in
    absent) c=1 ;;
    link) [ "$(readlink -- "$p")" = "$src" ] || c=1 ;;
    hard) [ -z "$src" ] || [ "$(stat -L -c %d:%i -- "$p")" = "$(stat -L -c %d:%i -- "$src")" ] || {{
            [ "$force" = 1 ] || fail "Cannot link, different hard link exists at destination"; c=1; }} ;;
    file) [ "$force" = 1 ] || fail "Cannot link, file exists at destination"; c=1 ;;
    directory) fail "Cannot link: $p is a directory" ;;
  esac
  [ "$c" = 1 ] && [ "$check" != 1 ] && put -L
fi
if [ "$follow" = 1 ] && [ -L "$p" ]; then
  [ -e "$p" ] || {{ [ "$c" = 1 ] && echo '{RESULT_MARK} changed' || echo '{RESULT_MARK} ok'; exit 0; }}
  p=$(readlink -f -- "$p")
fi
[ "$check" = 1 ] && [ ! -e "$p" ] && [ ! -L "$p" ] && state=absent
{ATTRIBUTES_TAIL}"""


def link_argv(path: str, src: str, kind: str, force: bool, follow: bool, mode: str, owner: str, group: str,
              check: bool) -> list[str]:
    """``kind``: link (symbolic) or hard; ``src`` '' keeps an existing link as it points."""
    flags = ["1" if value else "0" for value in (force, follow)]
    return ["sh", "-c", LINK_SCRIPT, "sh", path, src, kind, *flags, mode, owner, group, "1" if check else "0"]
