"""Without asyncio: a contractor script claims what it is offered and hands it in.

    CREWLINE_CREDENTIAL=<contractor token> python examples/sdk_sync.py PROJECT [TASKS]

It claims up to TASKS offers (default 1) of PROJECT, one at a time, repeats each claim
with its request id to show that a retry returns the same claim, and hands the work in.
Addresses come from CREWLINE_MATCHER_GRPC_ADDR.
"""

from __future__ import annotations

import sys
import uuid

from crewline.client import CrewlineError, sync


def main(project_id: str, count: int) -> None:
    done = 0
    with sync.Contractor() as me:  # CREWLINE_CREDENTIAL: the contractor's token
        for offer in me.offers(project_id=project_id):  # a plain iterator over every page
            request_id = str(uuid.uuid4())  # one per claim, reused by every retry of it
            try:
                claim = me.claim(offer.task_id, request_id=request_id)
            except CrewlineError as err:  # err.reason: NO_FREE_SLOT, AT_CLAIM_LIMIT, ...
                print(f"  {offer.task_id[:8]}: not claimed ({err.reason})")
                continue
            again = me.claim(offer.task_id, request_id=request_id)  # as a retry would
            same = again.claim_id == claim.claim_id
            print(f"  {offer.task_id[:8]}: claimed; a retry gives the same claim: {same}")
            me.submit(claim.claim_id, '{"rating": 4}', worked_seconds=0)
            done += 1
            if done == count:
                break
    print(f"handed in {done}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
