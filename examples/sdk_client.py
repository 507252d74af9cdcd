"""A client system publishes a project, then reviews the work as it arrives.

    CREWLINE_CREDENTIAL=<API key> python examples/sdk_client.py [TASKS]

It publishes TASKS tasks (default 3), watches the project live, accepts good work (with
a bonus for the first), rejects the rest with feedback, and stops once every task is
reviewed. Addresses come from CREWLINE_DISPATCHER_GRPC_ADDR and CREWLINE_LEDGER_GRPC_ADDR.
"""

from __future__ import annotations

import asyncio
import sys

from crewline.client import Client, Money, per_submission, task, usd

QUESTIONS = [
    "Is a 6 mm asymmetric mole with uneven colour a reason for referral?",
    "Does this contract clause limit liability for gross negligence?",
    "Caption the first ten seconds of clip 17.",
    "Rate this sonnet's metre from 1 to 5.",
]


async def main(count: int) -> None:
    async with Client() as client:
        project = await client.create_project(
            title="Expert answers, reviewed",
            instructions="Answer in one paragraph; cite what you relied on.",
            pay_terms=per_submission(usd(1250)),  # 12.50 USD per accepted answer
            auto_accept_delay_seconds=3600,
        )
        watch = client.watch(project_id=project.project_id)
        await watch.connect()  # from here on, no event is missed
        specs = [task({"question": QUESTIONS[n % len(QUESTIONS)]}) for n in range(count)]
        published = await client.submit_tasks(project.project_id, specs)
        print(f"project {project.project_id}: published {len(published)} tasks")

        reviewed = 0
        async for event in watch:
            if not event.HasField("work_submitted"):
                continue
            work = event.work_submitted
            answer = work.result.decode(errors="replace")
            if reviewed % 2 == 0 and answer:
                await client.accept(work.claim_id, feedback="Clear and well sourced.")
                verdict = "accepted"
                if reviewed == 0:
                    grant = await client.grant_bonus(
                        work.claim_id,
                        amount=Money.of("3.00", "USD"),
                        reason="First in, and thorough.",
                    )
                    verdict += f" + {grant.bonus.amount} bonus"
            else:
                await client.reject(work.claim_id, feedback="Please cite a source.")
                verdict = "rejected"
            reviewed += 1
            print(f"  {work.contractor_id} on task {work.task_id[:8]}: {verdict}")
            if reviewed == count:
                break

        await watch.aclose()
        balance = await client.balance()  # prints as client:<id>: -$18.60 USD
        print(f"reviewed {reviewed} submissions; account {balance}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
