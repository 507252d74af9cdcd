"""Quality-control things for the self-test to plant a defect into, when a run's state
lacks them: a sanction of the rule with its gold evidence, the key the workload made for
it and the matcher's block. Ids made up start with ``selftest-``."""

from __future__ import annotations

import json

from chaos.checks.quality import smoothed
from chaos.model import BlockRow, EvidenceRow, GoldRow, Op, SanctionRow, State
from chaos.planting import made_up, record

KEY = {"label": "right", "score": 1.5}
WRONG = {"label": "wrong", "score": 5}


def plant_sanction(ops: list[Op], state: State) -> SanctionRow:
    """An active suspension resting on two wrong gold answers (min_sample 2), with the
    AddGoldTasks that made both keys, the gold rows and the matcher's block."""
    project, client, contractor = made_up("project"), made_up("client"), made_up("contractor")
    key_json = json.dumps(KEY, separators=(",", ":"), sort_keys=True)
    keys = [made_up("gold-key"), made_up("gold-key")]
    record(
        ops,
        "add_gold_tasks",
        {"client_id": client, "project_id": project, "keys": keys, "answers": [key_json] * 2},
    )
    sanction = SanctionRow(
        sanction_id=made_up("sanction"),
        contractor_id=contractor,
        project_id=project,
        rule_id="careless",
        measure="gold_accuracy",
        below=60,
        above=None,
        min_sample=2,
        action="suspend",
        measured_value=smoothed(0, 2),
        sample=2,
        state="active",
        imposed_at=state.taken_at - 60,
        ended_at=None,
    )
    for key in keys:
        gold = GoldRow(
            gold_id=made_up("gold"),
            project_id=project,
            client_id=client,
            idempotency_key=key,
            answer_json=key_json,
        )
        state.gold.append(gold)
        sanction.evidence.append(
            EvidenceRow(
                kind="gold",
                task_id=made_up("task"),
                submission_id=made_up("claim"),
                gold_id=gold.gold_id,
                correct=False,
                answer_json=json.dumps(WRONG),
                expected_json=key_json,
            )
        )
    state.sanctions.append(sanction)
    state.sanction_blocks.append(
        BlockRow(
            block_id=f"sanction:{sanction.sanction_id}",
            contractor_id=contractor,
            project_id=project,
            blocked_at=sanction.imposed_at + 0.1,
            lifted_at=None,
        )
    )
    return sanction


def gold_judged(ops: list[Op], state: State) -> EvidenceRow:
    """A gold item of a sanction's evidence: the state's, or planted."""
    for s in state.sanctions:
        for item in s.evidence:
            if item.kind == "gold":
                return item
    return plant_sanction(ops, state).evidence[0]


def active_sanction(ops: list[Op], state: State) -> SanctionRow:
    found = next((s for s in state.sanctions if s.state == "active"), None)
    return found or plant_sanction(ops, state)


def sanction_block(ops: list[Op], state: State) -> BlockRow:
    """A block of a suspension: the state's, or planted with its sanction."""
    if state.sanction_blocks:
        return state.sanction_blocks[0]
    plant_sanction(ops, state)
    return state.sanction_blocks[-1]
