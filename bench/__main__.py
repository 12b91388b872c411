"""``python -m bench``: run the figures, print the table, write the JSON.

    uv run python -m bench --quick          # the default; under ten minutes on 2 cores
    uv run python -m bench --full           # bigger N, more rounds
    uv run python -m bench --quick --n 50   # tiny: proves the harness end to end
    uv run python -m bench --only e2e,steps --json /tmp/bench.json

Servers and workers are the benchmark's own, on loopback, stopped by PID when it ends, also on
Ctrl-C or SIGTERM. Only Redis (a machine service) is shared: the benchmark uses DB 15 alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from bench import bulk, dispatch_rate, end_to_end, startup, steps, tracing_cost
from bench._processes import REPO_ROOT, dev_server, log_dir, stop_all
from bench._report import HEADER, Row, markdown_table, print_row, write_json
from bench._stack import running_stack
from bench.options import FIGURES, BenchOptions
from core.client import reset_client

RESULTS = REPO_ROOT / "bench" / "results"


def parse(argv: list[str]) -> tuple[BenchOptions, Path | None]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="quick mode (default)")
    size.add_argument("--full", action="store_true", help="N=500 and 2,000, 5 rounds")
    parser.add_argument(
        "--n", type=int, help="tiny mode: every figure with N jobs (overrides --quick/--full)"
    )
    parser.add_argument("--rounds", type=int, help="alternating rounds per comparison")
    parser.add_argument("--only", help=f"comma-separated figures: {','.join(FIGURES)}")
    parser.add_argument("--celery-pool", choices=["prefork", "threads", "solo"])
    parser.add_argument("--celery-concurrency", type=int)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.n is not None and args.n < 5:
        parser.error("--n must be at least 5")
    if args.n is not None:
        options = BenchOptions.tiny(args.n)
    else:
        options = BenchOptions.full() if args.full else BenchOptions.quick()
    if args.rounds is not None:
        if args.rounds < 1:
            parser.error("--rounds must be at least 1")
        options.rounds = args.rounds
    if args.only:
        chosen = tuple(f.strip() for f in args.only.split(",") if f.strip())
        unknown = sorted(set(chosen) - set(FIGURES))
        if unknown:
            parser.error(
                f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(FIGURES)}"
            )
        options.figures = chosen
    if args.celery_pool:
        options.celery_pool = args.celery_pool
    if args.celery_concurrency:
        options.celery_concurrency = args.celery_concurrency
    return options, args.json


async def _migrated_database() -> None:
    """Give every worker the bench starts a migrated SQLite file of its own (workers refuse to
    start on a schema that is behind), and keep them from syncing schedules onto the server."""
    from core.db import migrations
    from core.db.engine import dispose_engines

    url = f"sqlite+aiosqlite:///{log_dir() / 'lanes.db'}"
    await migrations.upgrade(url=url)
    await dispose_engines()
    os.environ["LANES_DATABASE_URL"] = url
    os.environ["LANES_SYNC_SCHEDULES"] = "false"


async def run(options: BenchOptions) -> list[Row]:
    rows: list[Row] = []
    await _migrated_database()

    def done(new: list[Row]) -> None:
        for row in new:
            print_row(row)
        rows.extend(new)

    wanted = set(options.figures)
    if "dispatch" in wanted:
        print("figure 1: dispatch rate (own server, no worker)", flush=True)
        async with dev_server() as server:
            assert server.pid is not None
            done(await dispatch_rate.run(server.address, server.pid, options))
    if wanted & {"e2e", "steps", "bulk"}:
        print("figures 2, 3, 6, 7: jobs end to end (own server, three workers)", flush=True)
        async with running_stack(options) as stack:
            # dispatch_many and friends use the process's default client: point it here.
            os.environ["TEMPORAL_ADDRESS"] = stack.address
            reset_client()
            if "e2e" in wanted:
                done(await end_to_end.run(stack, options))
            if "steps" in wanted:
                done(await steps.run(stack, options))
            if "bulk" in wanted:
                done(await bulk.run(stack, options))
    if wanted & {"startup", "tracing"}:
        print("figures 4, 5: worker start-up, tracing (own server)", flush=True)
        async with dev_server() as server:
            if "startup" in wanted:
                done(await startup.run(server.address, options))
            if "tracing" in wanted:
                done(await tracing_cost.run(server.address, options))
    return rows


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM takes the same path as Ctrl-C: unwind, and every `finally` stops its processes.
    raise KeyboardInterrupt


def main() -> None:
    options, json_path = parse(sys.argv[1:])
    signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C must stop the run even when started from a shell that ignores SIGINT for background
    # jobs (then Python would inherit "ignore"); asyncio.run turns this handler into cancellation.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    began = time.monotonic()
    # Other programs on the machine move the figures: the load before and after goes in the JSON.
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    print(f"lanes bench, {options.mode} mode, {options.rounds} rounds; logs in {log_dir()}")
    code = 0
    rows: list[Row] = []
    try:
        rows = asyncio.run(run(options))
    except KeyboardInterrupt:
        print("interrupted: stopping the benchmark's processes", file=sys.stderr)
        code = 130
    except (RuntimeError, OSError, TimeoutError) as err:
        # A server or worker that would not start, Redis missing: one clear line, exit 1.
        print(f"bench: error: {err}", file=sys.stderr)
        code = 1
    finally:
        stop_all()
    elapsed = time.monotonic() - began
    if rows:
        print(f"\n{HEADER}")
        for row in rows:
            print_row(row)
        print(f"\n{markdown_table(rows)}\n")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        settings = options.as_dict() | {
            "elapsed_s": round(elapsed, 1),
            "load_average_at_start": load_at_start,
        }
        for path in filter(None, [RESULTS / f"{stamp}.json", json_path]):
            write_json(rows, path, settings)
            print(f"results written to {path}")
    print(f"{options.mode} mode took {elapsed:.0f} s")
    sys.stdout.flush()
    # The SDK's runtime has been seen to abort the interpreter at exit once a client was used.
    os._exit(code)


if __name__ == "__main__":
    main()
