"""Fault scenarios against `heard serve` and a LINE stub that fails on demand; prints what
the customers received: replies lost, doubled, out of order, and events recorded.

    python benchmarks/faults.py outage [--seconds 90] [--fault 500|429|timeout|mixed]
    python benchmarks/faults.py slow-restart [--seconds 65]
    python benchmarks/faults.py expired-tokens [--seconds 48] [--fail-after 13]

`--root DIR` runs the Heard found in DIR (e.g. an older checkout, to compare); `--env
NAME=VALUE` passes a setting. Real time throughout: an outage of 90 s takes about two
and a half minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.crashes import expired_tokens, outage_under_load, slow_restart  # noqa: E402


async def main(args: argparse.Namespace) -> None:
    env = dict(item.split("=", 1) for item in args.env)
    root = Path(args.root).resolve() if args.root else ROOT
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        if args.scenario == "outage":
            seconds = args.seconds or 90.0
            result = await outage_under_load(Path(tmp), seconds=seconds, fault=args.fault,
                                             customers=args.customers, env=env, root=root)
            what = f"{seconds:.0f} s LINE outage ({args.fault}), {args.customers} customers"
        elif args.scenario == "slow-restart":
            seconds = args.seconds or 65.0
            result = await slow_restart(Path(tmp), down_for=seconds, env=env, root=root,
                                        customers=min(args.customers, 10))
            what = f"SIGKILL with replies in flight, restart {seconds:.0f} s later"
        else:
            seconds = args.seconds or 48.0
            result = await expired_tokens(Path(tmp), down_for=seconds,
                                          fail_after=args.fail_after, env=env, root=root,
                                          customers=args.customers)
            what = (f"SIGKILL after taking events, restart {seconds:.0f} s later, "
                    f"{args.fail_after:.0f} s more of 500s")
    print(f"{what} ({root}):")
    print(f"  {result.line()}")
    print(f"  took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["outage", "slow-restart", "expired-tokens"])
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument("--fault", choices=["500", "429", "timeout", "mixed"], default="500")
    parser.add_argument("--fail-after", type=float, default=13.0)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--root", default="")
    parser.add_argument("--env", action="append", default=[])
    asyncio.run(main(parser.parse_args()))
