"""An operator sets up a lab and an expert: a qualification type, a client with an API
key, a contractor with a qualification and a token; then health and the books.

    CREWLINE_OPERATOR_CREDENTIAL=$(make -s operator-credential) \
        python examples/sdk_operator.py [CLIENT [CONTRACTOR]]

Every step may be run again: a client, a contractor or a qualification type that exists
is returned as it is, and a new API key and token are issued. The two credentials are
printed as shell exports. Addresses come from CREWLINE_<SERVICE>_GRPC_ADDR.
"""

from __future__ import annotations

import asyncio
import sys

from crewline.client import AlreadyExists, Operator
from crewline.v1.project_pb2 import QUALIFICATION_KIND_SCORE


async def main(client_id: str, contractor_id: str) -> None:
    async with Operator() as op:  # CREWLINE_OPERATOR_CREDENTIAL: the operator credential
        health = await op.health_all()  # {"dispatcher": "SERVING", ...}
        print("health:", ", ".join(f"{name} {state}" for name, state in health.items()))

        try:
            await op.define_qualification_type(
                "domain.dermatology", kind=QUALIFICATION_KIND_SCORE, description="0-100"
            )
        except AlreadyExists as err:  # defined earlier as another kind: keep it
            print(f"qualification type kept ({err.reason})")

        await op.create_client(client_id, display_name="Acme Labs")
        key = await op.create_api_key(client_id)  # the secret is shown only in this reply

        await op.create_contractor(contractor_id, display_name="Dr Ada Lee", domains=["medicine"])
        await op.grant_qualification(contractor_id, "domain.dermatology", score=87)
        token = await op.issue_token(contractor_id, ttl_seconds=7 * 24 * 3600)

        print(f"export LAB_KEY={key.secret}  # client {client_id}")
        print(f"export EXPERT_TOKEN={token.secret}  # contractor {contractor_id}")

        books = await op.verify_books()
        print(f"books balanced: {books.balanced} ({books.transaction_count} transactions)")


if __name__ == "__main__":
    given = sys.argv[1:3]
    client, contractor = given + ["acme-labs", "dr-lee"][len(given) :]
    asyncio.run(main(client, contractor))
