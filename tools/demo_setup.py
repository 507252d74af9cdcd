"""The operator sets the market up: qualification types, the run's clients with their API
keys, and its contractors with their qualifications and tokens."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from crewline.client import Client, Contractor, Endpoints, Operator
from crewline.v1 import project_pb2
from tools.demo_display import Tracker
from tools.demo_market import DOMAINS, LICENSE, ContractorProfile, MarketPlan
from tools.demo_rpc import bounded


@dataclass(frozen=True, kw_only=True)
class Enrolled:
    clients: dict[str, Client]  # ClientSpec.key -> its SDK, on its API key
    contractors: dict[str, Contractor]  # contractor id -> their SDK, on their token

    async def close(self) -> None:
        await asyncio.gather(
            *(c.close() for c in self.clients.values()),
            *(c.close() for c in self.contractors.values()),
        )


async def define_types(operator: Operator) -> None:
    """The marketplace's qualification types (defining one again changes nothing)."""
    for domain in DOMAINS:
        await operator.define_qualification_type(
            domain,
            kind=project_pb2.QUALIFICATION_KIND_SCORE,
            description=f"Vetted skill in {domain.removeprefix('domain.')}, 0-100",
        )
    await operator.define_qualification_type(
        LICENSE,
        kind=project_pb2.QUALIFICATION_KIND_PRESENCE,
        description="Holds a current medical licence",
    )


async def enrol(
    operator: Operator, plan: MarketPlan, endpoints: Endpoints, tracker: Tracker
) -> Enrolled:
    await define_types(operator)
    clients = {}
    for spec in plan.clients:
        client_id = plan.client_id(spec.key)
        await operator.create_client(client_id, display_name=f"{spec.name} ({plan.run_id})")
        key = await operator.create_api_key(client_id, request_id=f"{client_id}-key")
        clients[spec.key] = Client(credential=key.secret, endpoints=endpoints)
    first, *rest = plan.contractors
    tokens = [await _contractor(operator, first, tracker)]  # the referrer exists first
    tokens += await bounded(_contractor(operator, p, tracker) for p in rest)
    contractors = {
        p.id: Contractor(credential=token, endpoints=endpoints)
        for p, token in zip(plan.contractors, tokens, strict=True)
    }
    return Enrolled(clients=clients, contractors=contractors)


async def _contractor(operator: Operator, p: ContractorProfile, tracker: Tracker) -> str:
    """The contractor made, qualified by skill, and given a token (its secret)."""
    await operator.create_contractor(
        p.id,
        display_name=p.name,
        domains=[d.removeprefix("domain.") for d in p.scores],
        languages=["en"],
        referred_by=p.referred_by or "",
    )
    for domain, score in p.scores.items():
        await operator.grant_qualification(p.id, domain, score=score)
    if p.licensed:
        await operator.grant_qualification(p.id, LICENSE)
    token = await operator.issue_token(p.id)
    tracker.add("enrolled")
    return token.secret
