"""Benchmark A/B in one run: this checkout's bench scripts against the server of an older revision and of this one.

`--compare REV` builds REV in a temporary git worktree with its own venv (or uses `--base-dir`, a ready checkout
with .venv), then runs bench/orders.py, bench/flash_sale.py and bench/checkin.py of THIS checkout alternately
against A (REV) and B (this checkout), each through its `--app-dir/--python` options, and prints every figure
with its ratio B/A and the floors (purchase and check-in >= 85% of A, /auth/me >= 95%). Never edits either
checkout; the temporary worktree is removed at the end. Loopback only; each bench is bounded in count and time.

    BOXOFFICE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/ab.py --compare bcb8866 [--base-dir /work/base] [--repeats 2] [--b-env KEY=VALUE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import BENCH_DIR, HERE, RESULT_PREFIX  # noqa: E402 - bench/ helpers

# Each bench with its arguments for one A/B round (sized for a loaded 2-core machine: ~30-60 s a run).
BENCHES = {
    "orders": ["--workers", "2", "--threads", "32", "--orders", "400", "--requests", "1600", "--rounds", "4"],
    "flash_sale": ["--workers", "2", "--threads", "32", "--attempts", "1200", "--seats", "1000", "--noop", "2400"],
    "checkin": ["--workers", "2", "--processes", "2", "--threads", "16", "--tickets", "1500",
                "--scans-per-ticket", "2", "--rounds", "4"],
}
# Figures that must hold a floor of B/A (the targets); the rest are shown for information.
FLOORS = {"paid_orders_per_s": 0.85, "free_sales_per_s": 0.85, "purchase_per_s": 0.85, "checkin_per_s": 0.85,
          "me_per_s": 0.95}


def git(*args: str, cwd: Path = HERE) -> str:
    """Run git in `cwd`; its stdout."""
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def build(rev: str, into: Path) -> Path:
    """Check REV out as a detached temporary worktree at `into` and install it into its own .venv."""
    git("worktree", "add", "--detach", str(into), rev)
    for step in ([sys.executable, "-m", "venv", str(into / ".venv")],
                 [str(into / ".venv" / "bin" / "pip"), "install", "-q", "-e", f"{into}[test]"]):
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{' '.join(step)} failed:\n{done.stdout}{done.stderr}")
    return into


def run_bench(bench: str, app_dir: Path, extra_env: dict, extra_args: list[str]) -> dict:
    """One run of this checkout's bench script against `app_dir`'s server, with that checkout's interpreter;
    returns its result line (an `error` entry when it failed)."""
    python = str(app_dir / ".venv" / "bin" / "python")
    cmd = [python, str(BENCH_DIR / f"{bench}.py"), *BENCHES[bench], *extra_args, "--app-dir", str(app_dir),
           "--python", python]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **extra_env), timeout=900)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-8:]
    return {"bench": bench, "error": f"exit {proc.returncode}: " + " | ".join(tail)}


def table(results: dict[str, list[dict]], benches: list[str]) -> bool:
    """Print each figure's median for A and B and B/A; True when every floor holds and every audit passed."""
    ok = True
    print(f"\n{'bench':11} {'figure':22} {'A (median)':>12} {'B (median)':>12} {'B/A':>7}  floor")
    for bench in benches:
        runs_a = [r for r in results["A"] if r["bench"] == bench and "error" not in r]
        runs_b = [r for r in results["B"] if r["bench"] == bench and "error" not in r]
        if not runs_a or not runs_b:
            print(f"{bench:11} (no successful run on {'A' if not runs_a else 'B'})")
            ok = False
            continue
        for figure, value in runs_a[0].items():
            if figure == "bench" or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            a = statistics.median(r[figure] for r in runs_a)
            b = statistics.median(r.get(figure, 0) for r in runs_b)
            ratio = b / a if a else float("nan")
            floor = FLOORS.get(figure)
            verdict = "" if floor is None else f">= {floor:.0%} {'ok' if ratio >= floor else 'MISSED'}"
            ok = ok and (floor is None or ratio >= floor)
            print(f"{bench:11} {figure:22} {a:12.2f} {b:12.2f} {ratio:7.1%}  {verdict}")
        audits = [r.get("audit_ok") for r in runs_a + runs_b]
        print(f"{bench:11} {'audit':22} {'ok' if all(audits) else 'FAILED'}")
        ok = ok and all(audits)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", required=True, help="the A revision (e.g. bcb8866)")
    parser.add_argument("--base-dir", type=Path, help="a ready checkout of REV with .venv (skips the build)")
    parser.add_argument("--repeats", type=int, default=2, help="A, B rounds per bench (medians are compared)")
    parser.add_argument("--benches", default=",".join(BENCHES), help="comma-separated subset")
    parser.add_argument("--b-env", action="append", default=[], metavar="KEY=VALUE",
                        help="environment for B's runs only (e.g. BOXOFFICE_FAST_LANE=0)")
    parser.add_argument("--a-env", action="append", default=[], metavar="KEY=VALUE",
                        help="environment for A's runs only")
    args = parser.parse_args()
    benches = [b for b in args.benches.split(",") if b]
    unknown = set(benches) - set(BENCHES)
    if unknown or not 1 <= args.repeats <= 10:
        raise SystemExit(f"unknown benches {sorted(unknown)} (known: {sorted(BENCHES)}) or --repeats not 1..10")
    envs = {"A": dict(kv.split("=", 1) for kv in args.a_env), "B": dict(kv.split("=", 1) for kv in args.b_env)}
    rev = git("rev-parse", "--verify", args.compare + "^{commit}")

    temp = None
    if args.base_dir:
        base = args.base_dir.resolve()
        if git("rev-parse", "HEAD", cwd=base) != rev:
            raise SystemExit(f"--base-dir {base} is not at {args.compare}")
    else:
        temp = Path(tempfile.mkdtemp(prefix="boxoffice-ab-")) / "a"
        print(f"building {args.compare} in {temp} ...", flush=True)
        base = build(rev, temp)
    sides = {"A": base, "B": HERE}
    print(f"A = {args.compare} ({base}) {envs['A'] or ''}\nB = {git('rev-parse', '--short', 'HEAD')} "
          f"+ working tree ({HERE}) {envs['B'] or ''}", flush=True)
    results: dict[str, list[dict]] = {"A": [], "B": []}
    try:
        for repeat in range(args.repeats):
            for bench in benches:
                for side in ("A", "B"):  # interleaved: A, B, A, B ... so both see the same machine
                    result = run_bench(bench, sides[side], envs[side], [])
                    results[side].append(result)
                    shown = {k: v for k, v in result.items() if k != "bench"}
                    print(f"[{repeat + 1}/{args.repeats}] {bench:10} {side}: {shown}", flush=True)
    finally:
        if temp is not None:
            git("worktree", "remove", "--force", str(temp))
            shutil.rmtree(temp.parent, ignore_errors=True)
    ok = table(results, benches)
    print("\nall floors hold" if ok else "\nSOME FLOOR MISSED (or a run failed)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
