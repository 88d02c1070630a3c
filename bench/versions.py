"""Benchmark: this working tree against an earlier commit, command by command, on one lab.

    .venv/bin/python bench/versions.py --base REV [--new REV] [--vms 10] [--replicas 20] [--rounds 7]

Checks REV (and --new REV, else this working tree is the new side) out into temporary git
worktrees and runs each kob command from both trees in
turn (`python -m kob` with PYTHONPATH set to the tree), interleaved and in alternating
order, on its own lab (network 1, /var/lib/kob-bench-lab), which it takes down at the end.
Prints, per command, the median wall time and the median CPU seconds (user+sys of the
command's process tree) of each tree, and the ratio of this tree to REV.
  --version      `kob --version`: start-up alone
  exec true      `kob exec INVENTORY true` on every VM
  no-op deploy   `kob deploy INVENTORY` with nothing to change
  status         `kob status INVENTORY`
  scale          `kob scale INVENTORY web=R+2` then back to R: two real changes through HAProxy
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deploy import SERVICES  # the same service as bench/deploy.py (this script's folder is on sys.path)
from kob.lab.lab import Lab
from kob.lab.layout import LabLayout

HERE = Path(__file__).resolve().parents[1]


def run_kob(tree: Path, *args: str) -> tuple[float, float]:
    """Wall and CPU seconds (user+sys of the process tree) of `python -m kob ARGS` from ``tree``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kob", *args], capture_output=True, text=True, cwd=tree,
                          env={**os.environ, "PYTHONPATH": str(tree)})  # cwd too: -m puts it first on sys.path
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: kob {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def worktree(path: Path, revision: str) -> Path:
    """A detached git worktree of ``revision`` at ``path``."""
    subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach", str(path), revision],
                   check=True, capture_output=True)
    for folder in ("web", "templates"):  # installed as kob.web and kob.templates: found there from PYTHONPATH
        (path / "kob" / folder).symlink_to(path / folder)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="the commit to compare with")
    parser.add_argument("--new", help="the commit to compare it with (default: this working tree)")
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--replicas", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    lab = Lab(LabLayout(Path("/var/lib/kob-bench-lab"), net=1))
    scratch = tempfile.TemporaryDirectory(prefix="kob-bench-versions-")
    base_tree = worktree(Path(scratch.name) / "base", args.base)
    new_tree = worktree(Path(scratch.name) / "new", args.new) if args.new else HERE
    trees = {"base": base_tree, "new": new_tree}
    print(f"base: {args.base}; new: {args.new or 'this working tree'}")
    try:
        lab.up(args.vms)
        inventory = Path(scratch.name) / "bench-versions.yaml"
        inventory.write_text(lab.layout.inventory.read_text() + SERVICES.format(replicas=args.replicas))
        run_kob(new_tree, "deploy", str(inventory))
        inv = str(inventory)
        commands = {"--version": ["--version"], "exec true": ["exec", inv, "true"], "no-op deploy": ["deploy", inv],
                    "status": ["status", inv]}
        wall = {(c, t): [] for c in [*commands, "scale"] for t in trees}
        cpu = {key: [] for key in wall}
        for round_no in range(args.rounds):
            order = list(trees.items()) if round_no % 2 == 0 else list(trees.items())[::-1]
            for command, words in commands.items():
                for name, tree in order:
                    w, c = run_kob(tree, *words)
                    wall[command, name].append(w)
                    cpu[command, name].append(c)
            for name, tree in order:
                up = run_kob(tree, "scale", inv, f"web={args.replicas + 2}")
                down = run_kob(tree, "scale", inv, f"web={args.replicas}")
                wall["scale", name].append(up[0] + down[0])
                cpu["scale", name].append(up[1] + down[1])
        print(f"{args.vms} VMs, {args.replicas} replicas, {args.rounds} interleaved rounds, {os.cpu_count()} CPUs; "
              "medians: wall / CPU (user+sys, process tree)")
        for command in [*commands, "scale"]:
            cells = []
            for name in trees:
                cells.append(f"{name} {statistics.median(wall[command, name]) * 1000:6.0f} ms / "
                             f"{statistics.median(cpu[command, name]) * 1000:5.0f} ms")
            ratio = statistics.median(wall[command, "new"]) / statistics.median(wall[command, "base"])
            cpu_ratio = statistics.median(cpu[command, "new"]) / statistics.median(cpu[command, "base"])
            print(f"  {command:<13} {'   '.join(cells)}   wall x{ratio:4.2f}, CPU x{cpu_ratio:4.2f}")
    finally:
        lab.down()
        for tree in {base_tree, new_tree} - {HERE}:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(tree)], capture_output=True)
        scratch.cleanup()


if __name__ == "__main__":
    main()
