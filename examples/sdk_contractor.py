"""A contractor app: follow the offers, claim, work with heartbeats, hand in.

    CREWLINE_CREDENTIAL=<contractor token> python examples/sdk_contractor.py [TASKS [PROJECT]]

It handles TASKS tasks (default 3; of PROJECT only, when given) and prints its
earnings. The offers stream reconnects by itself (a matcher restart shows as a
Resync, then the offers again).
Addresses come from CREWLINE_MATCHER_GRPC_ADDR and CREWLINE_LEDGER_GRPC_ADDR.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from crewline.client import Contractor, CrewlineError, Offered, Resync


def worked(since: float) -> int:
    """Whole seconds worked (never more than the claim has been live)."""
    return int(time.monotonic() - since)


async def main(count: int, project_id: str) -> None:
    done = 0
    async with Contractor() as me:
        offers = me.stream_offers(project_id=project_id)
        async for event in offers:
            if isinstance(event, Resync):
                print("offers: resync (fresh snapshot follows)")
                continue
            if not isinstance(event, Offered):
                continue
            try:
                claim = await me.claim(event.task_id)
            except CrewlineError as err:  # someone was faster, or a limit applies
                print(f"  {event.task_id[:8]}: not claimed ({err.reason})")
                continue
            started = time.monotonic()
            question = json.loads(claim.payload or "{}").get("question", "")
            await asyncio.sleep(1)  # the work itself
            await me.heartbeat(claim.claim_id, worked_seconds=worked(started))  # still on it
            await asyncio.sleep(1)
            answer = f"One paragraph on: {question[:30]}..."
            await me.submit(claim.claim_id, answer, worked_seconds=worked(started))
            done += 1
            print(f"  {event.task_id[:8]}: claimed and submitted ({done}/{count})")
            if done == count:
                break
        await offers.aclose()

        claims = [c async for c in me.claims()]
        print(f"{len(claims)} claims on record")
        print(await me.earnings())  # earnings of <id>: $12.50 USD for 1 submission (...)


if __name__ == "__main__":
    asyncio.run(
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 3, sys.argv[2] if len(sys.argv) > 2 else "")
    )
