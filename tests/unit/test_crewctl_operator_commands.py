"""crewctl's contractor, qualification and block commands without servers: what each
command sends, what it prints, and the requests and records of the gRPC layer."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from crewline.ctl import config
from crewline.ctl.api import (
    BlockRecord,
    ContractorRecord,
    ProfileFields,
    QualificationRecord,
    QualificationsReport,
    QualificationTypeRecord,
    RpcFailed,
)
from crewline.ctl.app import Wiring
from crewline.ctl.contractor_rpc import ContractorCalls
from crewline.ctl.errors import ExitCode
from crewline.ctl.main import cli
from crewline.v1 import contractor_admin_service_pb2 as api
from crewline.v1 import project_pb2

AT = "2026-01-02T03:04:05Z"
CONTRACTOR: ContractorRecord = {
    "contractor_id": "dr-lee",
    "display_name": "Dr. Lee",
    "domains": ["medicine", "law"],
    "languages": ["en"],
    "locale": "US",
    "max_concurrent_claims": 3,
    "referred_by": None,
    "active": True,
    "revision": 1,
    "created_at": AT,
    "updated_at": AT,
}
DERM: QualificationTypeRecord = {
    "name": "domain.dermatology",
    "kind": "score",
    "description": "",
    "created_at": AT,
}
HELD: QualificationRecord = {
    "contractor_id": "dr-lee",
    "qualification": "domain.dermatology",
    "kind": "score",
    "score": 87,
    "text": None,
    "granted_at": AT,
    "updated_at": AT,
}
BLOCK: BlockRecord = {
    "block_id": "b-1",
    "contractor_id": "dr-lee",
    "project_id": None,
    "reason": "copied answers",
    "blocked_at": AT,
    "lifted_at": None,
}


@dataclass
class FakeAdmin:
    """Canned answers for the matcher's operator calls; records every call."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    refusal: RpcFailed | None = None

    def _called(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if self.refusal:
            raise self.refusal

    def create_contractor(
        self,
        contractor_id: str,
        display_name: str,
        profile: ProfileFields | None = None,
        referred_by: str = "",
    ) -> ContractorRecord:
        self._called("create_contractor", contractor_id, display_name, profile, referred_by)
        return CONTRACTOR

    def get_contractor(self, contractor_id: str) -> ContractorRecord:
        self._called("get_contractor", contractor_id)
        return CONTRACTOR

    def update_contractor(self, contractor_id: str, changes: ProfileFields) -> ContractorRecord:
        self._called("update_contractor", contractor_id, changes)
        return {**CONTRACTOR, "revision": 2}

    def deactivate_contractor(self, contractor_id: str, reason: str) -> ContractorRecord:
        self._called("deactivate_contractor", contractor_id, reason)
        return {**CONTRACTOR, "active": False, "revision": 2}

    def define_qualification_type(
        self, name: str, kind: str, description: str
    ) -> QualificationTypeRecord:
        self._called("define_qualification_type", name, kind, description)
        return DERM

    def list_qualification_types(self) -> list[QualificationTypeRecord]:
        self._called("list_qualification_types")
        return [DERM, {**DERM, "name": "locale", "kind": "string"}]

    def grant_qualification(
        self, contractor_id: str, qualification: str, score: int | None, text: str | None
    ) -> QualificationRecord:
        self._called("grant_qualification", contractor_id, qualification, score, text)
        return HELD

    def revoke_qualification(self, contractor_id: str, qualification: str, reason: str) -> None:
        self._called("revoke_qualification", contractor_id, qualification, reason)

    def list_qualifications(self, contractor_id: str) -> QualificationsReport:
        self._called("list_qualifications", contractor_id)
        change = {
            "qualification": HELD["qualification"],
            "change": "granted",
            "score": 87,
            "text": None,
            "reason": "",
            "changed_at": AT,
        }
        return {"contractor_id": contractor_id, "qualifications": [HELD], "history": [change]}  # type: ignore[list-item]

    def block_contractor(
        self, block_id: str, contractor_id: str, project_id: str, reason: str
    ) -> BlockRecord:
        self._called("block_contractor", block_id, contractor_id, project_id, reason)
        return {**BLOCK, "block_id": block_id, "project_id": project_id or None}

    def lift_block(self, block_id: str) -> BlockRecord:
        self._called("lift_block", block_id)
        return {**BLOCK, "block_id": block_id, "lifted_at": AT}

    def list_blocks(self, contractor_id: str) -> list[BlockRecord]:
        self._called("list_blocks", contractor_id)
        return [BLOCK, {**BLOCK, "block_id": "b-2", "lifted_at": AT}]


@dataclass
class Harness:
    tmp_path: Path
    admin: FakeAdmin = field(default_factory=FakeAdmin)

    def connect(self, addresses: config.Addresses, credential: str | None) -> FakeAdmin:
        return self.admin

    def run(self, *args: str) -> Result:
        env = {"CREWLINE_OPERATOR_CREDENTIAL": "op-secret"}
        wiring = Wiring(env=env, cwd=self.tmp_path, home=self.tmp_path, connect=self.connect)  # type: ignore[arg-type]
        return CliRunner().invoke(cli, list(args), obj=wiring, prog_name="crewctl")

    def json(self, *args: str) -> Any:
        result = self.run("--json", *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def usage_error(self, *args: str) -> Result:
        result = self.run(*args)
        assert result.exit_code == ExitCode.USAGE, result.output
        assert self.admin.calls == []
        return result


@pytest.fixture
def crewctl(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


# --- contractors -----------------------------------------------------------------------


def test_contractor_create_sends_the_profile_and_referral(crewctl: Harness) -> None:
    made = crewctl.json(
        "contractor", "create", "dr-kim", "--name", "Dr. Kim", "--domains", "medicine, law",
        "--languages", "en,ko", "--locale", "KR", "--max-claims", "5", "--referred-by", "dr-lee",
    )  # fmt: skip
    assert made == CONTRACTOR
    profile = {
        "domains": ["medicine", "law"],
        "languages": ["en", "ko"],
        "locale": "KR",
        "max_concurrent_claims": 5,
    }
    assert crewctl.admin.calls == [("create_contractor", ("dr-kim", "Dr. Kim", profile, "dr-lee"))]


def test_contractor_create_without_options_sends_no_profile_fields(crewctl: Harness) -> None:
    crewctl.json("contractor", "create", "dr-kim")
    assert crewctl.admin.calls == [("create_contractor", ("dr-kim", "", {}, ""))]


def test_contractor_get_and_its_human_output_joins_lists(crewctl: Harness) -> None:
    assert crewctl.json("contractor", "get", "dr-lee") == CONTRACTOR
    result = crewctl.run("contractor", "get", "dr-lee")
    assert result.exit_code == 0 and "medicine, law" in result.stdout


def test_contractor_update_sends_only_the_given_fields(crewctl: Harness) -> None:
    updated = crewctl.json("contractor", "update", "dr-lee", "--name", "Ada", "--domains", "")
    assert updated["revision"] == 2
    changes = {"domains": [], "display_name": "Ada"}
    assert crewctl.admin.calls == [("update_contractor", ("dr-lee", changes))]


def test_contractor_update_with_nothing_to_change_is_a_usage_error(crewctl: Harness) -> None:
    assert "nothing to update" in crewctl.usage_error("contractor", "update", "dr-lee").output


def test_contractor_deactivate_needs_a_reason(crewctl: Harness) -> None:
    crewctl.usage_error("contractor", "deactivate", "dr-lee")
    gone = crewctl.json("contractor", "deactivate", "dr-lee", "--reason", "left")
    assert gone["active"] is False
    assert crewctl.admin.calls == [("deactivate_contractor", ("dr-lee", "left"))]


@pytest.mark.parametrize("claims", ["0", "101"])
def test_max_claims_out_of_range_is_a_usage_error(crewctl: Harness, claims: str) -> None:
    crewctl.usage_error("contractor", "update", "dr-lee", "--max-claims", claims)


# --- qualifications --------------------------------------------------------------------


def test_qualification_type_define_and_list(crewctl: Harness) -> None:
    defined = crewctl.json(
        "qualification", "type", "define", "domain.dermatology", "--kind", "score",
        "--description", "Dermatology",
    )  # fmt: skip
    assert defined == DERM
    listed = crewctl.json("qualification", "type", "list")
    assert [t["name"] for t in listed] == ["domain.dermatology", "locale"]
    assert crewctl.admin.calls[0] == (
        "define_qualification_type",
        ("domain.dermatology", "score", "Dermatology"),
    )


@pytest.mark.parametrize("args", [[], ["--kind", "number"]])
def test_a_type_without_a_known_kind_is_a_usage_error(crewctl: Harness, args: list[str]) -> None:
    crewctl.usage_error("qualification", "type", "define", "x", *args)


@pytest.mark.parametrize(
    ("args", "score", "text"),
    [(["--score", "87"], 87, None), (["--text", "US"], None, "US"), ([], None, None)],
)
def test_qualification_grant_sends_the_value_given(
    crewctl: Harness, args: list[str], score: int | None, text: str | None
) -> None:
    assert crewctl.json("qualification", "grant", "dr-lee", "q", *args) == HELD
    assert crewctl.admin.calls == [("grant_qualification", ("dr-lee", "q", score, text))]


@pytest.mark.parametrize("args", [["--score", "1", "--text", "US"], ["--score", "101"]])
def test_a_grant_with_a_bad_value_is_a_usage_error(crewctl: Harness, args: list[str]) -> None:
    crewctl.usage_error("qualification", "grant", "dr-lee", "q", *args)


def test_qualification_revoke_says_it_is_no_longer_held(crewctl: Harness) -> None:
    out = crewctl.json("qualification", "revoke", "dr-lee", "q", "--reason", "lapsed")
    assert out == {"contractor_id": "dr-lee", "qualification": "q", "held": False}
    assert crewctl.admin.calls == [("revoke_qualification", ("dr-lee", "q", "lapsed"))]


def test_qualification_list_prints_what_is_held_and_the_history(crewctl: Harness) -> None:
    report = crewctl.json("qualification", "list", "dr-lee")
    assert report["qualifications"] == [HELD]
    assert [e["change"] for e in report["history"]] == ["granted"]
    human = crewctl.run("qualification", "list", "dr-lee").stdout
    assert "Qualifications of dr-lee" in human and "History" in human


def test_a_refused_grant_exits_1_with_its_reason(crewctl: Harness) -> None:
    crewctl.admin.refusal = RpcFailed(
        service="matcher",
        address="h:2",
        code="INVALID_ARGUMENT",
        details="qualification: names no qualification type: 'x'",
        reason="UNKNOWN_QUALIFICATION",
    )
    result = crewctl.run("qualification", "grant", "dr-lee", "x", "--score", "5")
    assert result.exit_code == ExitCode.REFUSED
    assert "UNKNOWN_QUALIFICATION" in result.stderr


# --- blocks ----------------------------------------------------------------------------


def test_block_create_generates_a_block_id(crewctl: Harness) -> None:
    placed = crewctl.json("block", "create", "dr-lee", "--reason", "copied answers")
    [(_, (block_id, contractor_id, project, reason))] = crewctl.admin.calls
    assert placed["block_id"] == block_id and block_id.startswith("crewctl-")
    uuid.UUID(block_id.removeprefix("crewctl-"))
    assert (contractor_id, project, reason) == ("dr-lee", "", "copied answers")


def test_block_create_passes_a_given_block_id_and_project(crewctl: Harness) -> None:
    project = str(uuid.uuid4())
    placed = crewctl.json(
        "block", "create", "dr-lee", "--reason", "coi", "--project", project, "--block-id", "b-9"
    )
    assert placed["project_id"] == project
    assert crewctl.admin.calls == [("block_contractor", ("b-9", "dr-lee", project, "coi"))]


def test_block_create_needs_a_reason(crewctl: Harness) -> None:
    crewctl.usage_error("block", "create", "dr-lee")


def test_block_lift_and_list(crewctl: Harness) -> None:
    assert crewctl.json("block", "lift", "b-1")["lifted_at"] == AT
    listed = crewctl.json("block", "list", "dr-lee")
    assert [b["block_id"] for b in listed] == ["b-1", "b-2"]


# --- the gRPC layer: requests sent, records made ---------------------------------------

TS = timestamp_pb2.Timestamp(seconds=1_767_323_045)  # AT


class Recording(ContractorCalls):
    """ContractorCalls whose transport records each request and answers from a script."""

    def __init__(self, replies: dict[str, Message]) -> None:
        self.replies = replies
        self.sent: dict[str, Message] = {}

    def _call(self, method: str, request: Message) -> Any:
        self.sent[method] = request
        return self.replies[method]


def test_update_sends_a_mask_of_the_changed_fields() -> None:
    reply = api.UpdateContractorResponse(contractor=api.Contractor(contractor_id="dr-lee"))
    calls = Recording({"UpdateContractor": reply})
    calls.update_contractor("dr-lee", {"domains": [], "max_concurrent_claims": 5})
    sent = calls.sent["UpdateContractor"]
    assert isinstance(sent, api.UpdateContractorRequest)
    assert list(sent.update_mask.paths) == ["domains", "max_concurrent_claims"]
    assert (sent.contractor.contractor_id, sent.contractor.max_concurrent_claims) == ("dr-lee", 5)


def test_a_grant_sets_score_or_text_only_when_given() -> None:
    reply = api.GrantQualificationResponse(qualification=api.Qualification())
    calls = Recording({"GrantQualification": reply})
    calls.grant_qualification("dr-lee", "credential.md", None, None)
    sent = calls.sent["GrantQualification"]
    assert isinstance(sent, api.GrantQualificationRequest)
    assert not sent.HasField("score") and not sent.HasField("text")
    calls.grant_qualification("dr-lee", "domain.x", 0, None)
    sent = calls.sent["GrantQualification"]
    assert isinstance(sent, api.GrantQualificationRequest)
    assert sent.HasField("score") and sent.score == 0


def test_contractor_records_show_unset_referral_as_none() -> None:
    pb = api.Contractor(contractor_id="dr-lee", domains=["law"], created_at=TS, revision=3)
    reply = api.GetContractorResponse(contractor=pb)
    record = Recording({"GetContractor": reply}).get_contractor("dr-lee")
    assert record["referred_by"] is None and record["domains"] == ["law"]
    assert (record["created_at"], record["updated_at"], record["revision"]) == (AT, None, 3)


def test_qualification_values_show_by_kind_in_lists_and_history() -> None:
    score_type = api.QualificationType(name="derm", kind=project_pb2.QUALIFICATION_KIND_SCORE)
    presence = api.QualificationType(name="md", kind=project_pb2.QUALIFICATION_KIND_PRESENCE)
    held = [
        api.Qualification(qualification="derm", kind=project_pb2.QUALIFICATION_KIND_SCORE),
        api.Qualification(qualification="md", kind=project_pb2.QUALIFICATION_KIND_PRESENCE),
    ]
    history = [
        api.QualificationHistoryEntry(
            qualification="derm", change=api.QUALIFICATION_CHANGE_GRANTED, score=0
        ),
        api.QualificationHistoryEntry(qualification="md", change=api.QUALIFICATION_CHANGE_GRANTED),
        api.QualificationHistoryEntry(
            qualification="derm", change=api.QUALIFICATION_CHANGE_REVOKED, reason="lapsed"
        ),
    ]
    calls = Recording(
        {
            "ListQualifications": api.ListQualificationsResponse(
                qualifications=held, history=history
            ),
            "ListQualificationTypes": api.ListQualificationTypesResponse(
                qualification_types=[score_type, presence]
            ),
        }
    )
    report = calls.list_qualifications("dr-lee")
    assert [(q["kind"], q["score"], q["text"]) for q in report["qualifications"]] == [
        ("score", 0, None),
        ("presence", None, None),
    ]
    assert [(e["change"], e["score"], e["reason"]) for e in report["history"]] == [
        ("granted", 0, ""),
        ("granted", None, ""),
        ("revoked", None, "lapsed"),
    ]


def test_a_global_block_has_no_project() -> None:
    reply = api.LiftBlockResponse(block=api.Block(block_id="b-1", blocked_at=TS, lifted_at=TS))
    record = Recording({"LiftBlock": reply}).lift_block("b-1")
    assert (record["project_id"], record["lifted_at"]) == (None, AT)
