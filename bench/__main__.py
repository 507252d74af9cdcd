"""Run the benchmarks against the running stack and print a summary table.

python -m bench [--only claims,contention,submit,fanout,memory,flat,deadlines,lifecycle,postings,
    answers,gold,scorewithdraw] [--no-profile]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench import (
    answers,
    claims,
    contention,
    deadlines,
    gold,
    lifecycle,
    memory,
    postings,
    scorewithdraw,
    submit,
)
from bench.common import Stack, Summary

PARTS = (
    "claims",
    "contention",
    "submit",
    "fanout",
    "memory",
    "flat",
    "deadlines",
    "lifecycle",
    "postings",
    "answers",
    "gold",
    "scorewithdraw",
)
SCALE = ("fanout", "memory", "flat")  # run together by bench.memory: one replica, one pool


async def main(parts: list[str], profile: bool) -> Summary:
    stack = Stack.from_env()
    summary = Summary()
    try:
        if "claims" in parts:
            await claims.run(stack, summary, profile=profile)
        if "contention" in parts:
            await contention.run(stack, summary)
        if "submit" in parts:
            await submit.run(stack, summary)
        if any(p in parts for p in SCALE):
            await memory.run(stack, summary, [p for p in parts if p in SCALE])
        if "deadlines" in parts:
            await deadlines.run(summary)
        if "lifecycle" in parts:
            await lifecycle.run(stack, summary)
        if "postings" in parts:
            await postings.run(stack, summary)
        if "answers" in parts:
            await answers.run(stack, summary, profile=profile)
        if "gold" in parts:
            await gold.run(stack, summary, profile=profile)
        if "scorewithdraw" in parts:
            await scorewithdraw.run(stack, summary)
    finally:
        await stack.close()
    return summary


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    args = parser.parse_args()
    parts = [p for p in args.only.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    started = time.monotonic()
    summary = asyncio.run(main(parts, not args.no_profile))
    print(f"\nSummary (run took {time.monotonic() - started:.0f}s)\n")
    print(summary.render())


if __name__ == "__main__":
    cli()
