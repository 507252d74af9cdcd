"""crewctl's contractor, qualification and block commands against stand-in servers: what
each command sends, what it prints, and how it shows what the matcher answers."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from crewctl_golden.harness import Crewctl
from grpc_standin import Refusal, StandIns

from crewline.ctl.errors import ExitCode
from crewline.ctl.records.contractors import (
    BlockRecord,
    ContractorRecord,
    QualificationRecord,
    QualificationTypeRecord,
)

OPERATOR = "op-secret"
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
    "client_id": None,
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

# The same, as the matcher sends them.
CONTRACTOR_PB = {k: v for k, v in CONTRACTOR.items() if v is not None}
DERM_PB = {**DERM, "kind": "QUALIFICATION_KIND_SCORE"}
HELD_PB = {k: v for k, v in {**HELD, "kind": "QUALIFICATION_KIND_SCORE"}.items() if v is not None}
BLOCK_PB = {k: v for k, v in BLOCK.items() if v is not None}


@pytest.fixture
def crewctl(servers: StandIns, tmp_path: Path) -> Crewctl:
    return Crewctl(
        servers, caller="none", env={"CREWLINE_OPERATOR_CREDENTIAL": OPERATOR}, cwd=tmp_path
    )


def sent(crewctl: Crewctl, method: str) -> dict[str, Any]:
    """The one request of ``method``, made by the matcher with the operator credential."""
    [call] = [r for r in crewctl.servers.received if r.method.endswith(f"/{method}")]
    assert (call.server, call.authorization) == ("matcher", f"Bearer {OPERATOR}")
    return call.request


def usage_error(crewctl: Crewctl, *args: str) -> Result:
    result = crewctl.run(*args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert crewctl.requests() == []
    return result


# --- contractors -----------------------------------------------------------------------


def test_contractor_create_sends_the_profile_and_referral(crewctl: Crewctl) -> None:
    made = crewctl.json(
        "contractor", "create", "dr-kim", "--name", "Dr. Kim", "--domains", "medicine, law",
        "--languages", "en,ko", "--locale", "KR", "--max-claims", "5", "--referred-by", "dr-lee",
        CreateContractor={"contractor": CONTRACTOR_PB},
    )  # fmt: skip
    assert made == CONTRACTOR
    assert sent(crewctl, "CreateContractor") == {
        "contractor_id": "dr-kim",
        "display_name": "Dr. Kim",
        "domains": ["medicine", "law"],
        "languages": ["en", "ko"],
        "locale": "KR",
        "max_concurrent_claims": 5,
        "referred_by": "dr-lee",
    }


def test_contractor_create_without_options_sends_no_profile_fields(crewctl: Crewctl) -> None:
    crewctl.json("contractor", "create", "dr-kim", CreateContractor={"contractor": CONTRACTOR_PB})
    assert sent(crewctl, "CreateContractor") == {"contractor_id": "dr-kim"}


def test_contractor_get_and_its_human_output_joins_lists(crewctl: Crewctl) -> None:
    found = {"contractor": CONTRACTOR_PB}
    assert crewctl.json("contractor", "get", "dr-lee", GetContractor=found) == CONTRACTOR
    assert sent(crewctl, "GetContractor") == {"contractor_id": "dr-lee"}
    result = crewctl.run("contractor", "get", "dr-lee", GetContractor=found)
    assert result.exit_code == 0 and "medicine, law" in result.stdout


def mask(request: dict[str, Any]) -> list[str]:
    """The update mask's paths, sorted (protobuf's JSON form writes them in camelCase)."""
    return sorted(str(request["update_mask"]).split(","))


def test_contractor_update_sends_only_the_given_fields(crewctl: Crewctl) -> None:
    updated = crewctl.json(
        "contractor", "update", "dr-lee", "--name", "Ada", "--domains", "",
        UpdateContractor={"contractor": {**CONTRACTOR_PB, "revision": 2}},
    )  # fmt: skip
    assert updated["revision"] == 2
    request = sent(crewctl, "UpdateContractor")
    assert request["contractor"] == {"contractor_id": "dr-lee", "display_name": "Ada"}
    assert mask(request) == ["displayName", "domains"]  # domains cleared


def test_contractor_update_with_nothing_to_change_is_a_usage_error(crewctl: Crewctl) -> None:
    assert "nothing to update" in usage_error(crewctl, "contractor", "update", "dr-lee").output


def test_contractor_deactivate_needs_a_reason(crewctl: Crewctl) -> None:
    usage_error(crewctl, "contractor", "deactivate", "dr-lee")
    gone = crewctl.json(
        "contractor", "deactivate", "dr-lee", "--reason", "left",
        DeactivateContractor={"contractor": {**CONTRACTOR_PB, "active": False, "revision": 2}},
    )  # fmt: skip
    assert gone["active"] is False
    assert sent(crewctl, "DeactivateContractor") == {"contractor_id": "dr-lee", "reason": "left"}


@pytest.mark.parametrize("claims", ["0", "101"])
def test_max_claims_out_of_range_is_a_usage_error(crewctl: Crewctl, claims: str) -> None:
    usage_error(crewctl, "contractor", "update", "dr-lee", "--max-claims", claims)


def test_update_sends_a_mask_of_the_changed_fields(crewctl: Crewctl) -> None:
    crewctl.json(
        "contractor", "update", "dr-lee", "--domains", "", "--max-claims", "5",
        UpdateContractor={"contractor": {"contractor_id": "dr-lee"}},
    )  # fmt: skip
    request = sent(crewctl, "UpdateContractor")
    assert mask(request) == ["domains", "maxConcurrentClaims"]
    assert request["contractor"] == {"contractor_id": "dr-lee", "max_concurrent_claims": 5}


def test_contractor_records_show_unset_referral_as_none(crewctl: Crewctl) -> None:
    answer = {"contractor_id": "dr-lee", "domains": ["law"], "created_at": AT, "revision": 3}
    record = crewctl.json("contractor", "get", "dr-lee", GetContractor={"contractor": answer})
    assert record["referred_by"] is None and record["domains"] == ["law"]
    assert (record["created_at"], record["updated_at"], record["revision"]) == (AT, None, 3)


# --- qualifications --------------------------------------------------------------------


def test_qualification_type_define_and_list(crewctl: Crewctl) -> None:
    defined = crewctl.json(
        "qualification", "type", "define", "domain.dermatology", "--kind", "score",
        "--description", "Dermatology",
        DefineQualificationType={"qualification_type": DERM_PB},
    )  # fmt: skip
    assert defined == DERM
    assert sent(crewctl, "DefineQualificationType") == {
        "name": "domain.dermatology",
        "kind": "QUALIFICATION_KIND_SCORE",
        "description": "Dermatology",
    }
    locale = {**DERM_PB, "name": "locale", "kind": "QUALIFICATION_KIND_STRING"}
    listed = crewctl.json(
        "qualification",
        "type",
        "list",
        ListQualificationTypes={"qualification_types": [DERM_PB, locale]},
    )
    assert [(t["name"], t["kind"]) for t in listed] == [
        ("domain.dermatology", "score"),
        ("locale", "string"),
    ]
    assert sent(crewctl, "ListQualificationTypes") == {}


@pytest.mark.parametrize("args", [[], ["--kind", "number"]])
def test_a_type_without_a_known_kind_is_a_usage_error(crewctl: Crewctl, args: list[str]) -> None:
    usage_error(crewctl, "qualification", "type", "define", "x", *args)


@pytest.mark.parametrize(
    ("args", "value"),
    [(["--score", "87"], {"score": 87}), (["--text", "US"], {"text": "US"}), ([], {})],
)
def test_qualification_grant_sends_the_value_given(
    crewctl: Crewctl, args: list[str], value: dict[str, Any]
) -> None:
    granted = {"qualification": HELD_PB}
    held = crewctl.json("qualification", "grant", "dr-lee", "q", *args, GrantQualification=granted)
    assert held == HELD
    assert sent(crewctl, "GrantQualification") == {
        "contractor_id": "dr-lee",
        "qualification": "q",
        **value,
    }


def test_a_grant_sets_score_or_text_only_when_given(crewctl: Crewctl) -> None:
    answer = {"qualification": {"qualification": "credential.md"}}
    crewctl.json("qualification", "grant", "dr-lee", "credential.md", GrantQualification=answer)
    request = sent(crewctl, "GrantQualification")
    assert "score" not in request and "text" not in request
    crewctl.json(
        "qualification", "grant", "dr-lee", "domain.x", "--score", "0", GrantQualification=answer
    )
    assert sent(crewctl, "GrantQualification")["score"] == 0  # set, though zero


@pytest.mark.parametrize("args", [["--score", "1", "--text", "US"], ["--score", "101"]])
def test_a_grant_with_a_bad_value_is_a_usage_error(crewctl: Crewctl, args: list[str]) -> None:
    usage_error(crewctl, "qualification", "grant", "dr-lee", "q", *args)


def test_qualification_revoke_says_it_is_no_longer_held(crewctl: Crewctl) -> None:
    out = crewctl.json(
        "qualification", "revoke", "dr-lee", "q", "--reason", "lapsed", RevokeQualification={}
    )
    assert out == {"contractor_id": "dr-lee", "qualification": "q", "held": False}
    assert sent(crewctl, "RevokeQualification") == {
        "contractor_id": "dr-lee",
        "qualification": "q",
        "reason": "lapsed",
    }


def test_qualification_list_prints_what_is_held_and_the_history(crewctl: Crewctl) -> None:
    granted = {
        "qualification": HELD["qualification"],
        "change": "QUALIFICATION_CHANGE_GRANTED",
        "score": 87,
        "changed_at": AT,
    }
    answers: dict[str, Any] = {
        "ListQualifications": {"qualifications": [HELD_PB], "history": [granted]},
        "ListQualificationTypes": {"qualification_types": [DERM_PB]},
    }
    report = crewctl.json("qualification", "list", "dr-lee", **answers)
    assert report["qualifications"] == [HELD]
    assert report["history"] == [
        {
            "qualification": HELD["qualification"],
            "change": "granted",
            "score": 87,
            "text": None,
            "reason": "",
            "changed_at": AT,
        }
    ]
    assert sent(crewctl, "ListQualifications") == {"contractor_id": "dr-lee"}
    human = crewctl.run("qualification", "list", "dr-lee", **answers).stdout
    assert "Qualifications of dr-lee" in human and "History" in human


def test_qualification_values_show_by_kind_in_lists_and_history(crewctl: Crewctl) -> None:
    score, presence = "QUALIFICATION_KIND_SCORE", "QUALIFICATION_KIND_PRESENCE"
    granted, revoked = "QUALIFICATION_CHANGE_GRANTED", "QUALIFICATION_CHANGE_REVOKED"
    report = crewctl.json(
        "qualification",
        "list",
        "dr-lee",
        ListQualifications={
            "qualifications": [
                {"qualification": "derm", "kind": score},
                {"qualification": "md", "kind": presence},
            ],
            "history": [
                {"qualification": "derm", "change": granted, "score": 0},
                {"qualification": "md", "change": granted},
                {"qualification": "derm", "change": revoked, "reason": "lapsed"},
            ],
        },
        ListQualificationTypes={
            "qualification_types": [
                {"name": "derm", "kind": score},
                {"name": "md", "kind": presence},
            ]
        },
    )
    assert [(q["kind"], q["score"], q["text"]) for q in report["qualifications"]] == [
        ("score", 0, None),
        ("presence", None, None),
    ]
    assert [(e["change"], e["score"], e["reason"]) for e in report["history"]] == [
        ("granted", 0, ""),
        ("granted", None, ""),
        ("revoked", None, "lapsed"),
    ]


def test_a_refused_grant_exits_1_with_its_reason(crewctl: Crewctl) -> None:
    refused = Refusal(
        "INVALID_ARGUMENT",
        "qualification: names no qualification type: 'x'",
        "UNKNOWN_QUALIFICATION",
        {"field": "qualification"},
    )
    result = crewctl.run(
        "qualification", "grant", "dr-lee", "x", "--score", "5", GrantQualification=refused
    )
    assert result.exit_code == ExitCode.REFUSED
    assert "UNKNOWN_QUALIFICATION" in result.stderr
    assert sent(crewctl, "GrantQualification") == {
        "contractor_id": "dr-lee",
        "qualification": "x",
        "score": 5,
    }


# --- blocks ----------------------------------------------------------------------------


def test_block_create_generates_a_block_id(crewctl: Crewctl) -> None:
    placed = crewctl.json(
        "block", "create", "dr-lee", "--reason", "copied answers",
        BlockContractor={"block": BLOCK_PB},
    )  # fmt: skip
    assert placed == BLOCK
    request = sent(crewctl, "BlockContractor")
    block_id = request.pop("block_id")
    assert block_id.startswith("crewctl-")
    uuid.UUID(block_id.removeprefix("crewctl-"))
    assert request == {"contractor_id": "dr-lee", "reason": "copied answers"}  # every project


def test_block_create_passes_a_given_block_id_and_project(crewctl: Crewctl) -> None:
    project = str(uuid.uuid4())
    answer = {"block": {**BLOCK_PB, "block_id": "b-9", "project_id": project, "reason": "coi"}}
    placed = crewctl.json(
        "block", "create", "dr-lee", "--reason", "coi", "--project", project, "--block-id", "b-9",
        BlockContractor=answer,
    )  # fmt: skip
    assert (placed["block_id"], placed["project_id"]) == ("b-9", project)
    assert sent(crewctl, "BlockContractor") == {
        "block_id": "b-9",
        "contractor_id": "dr-lee",
        "project_id": project,
        "reason": "coi",
    }


def test_block_create_needs_a_reason(crewctl: Crewctl) -> None:
    usage_error(crewctl, "block", "create", "dr-lee")


def test_block_lift_and_list(crewctl: Crewctl) -> None:
    lifted = {"block": {**BLOCK_PB, "lifted_at": AT}}
    assert crewctl.json("block", "lift", "b-1", LiftBlock=lifted)["lifted_at"] == AT
    assert sent(crewctl, "LiftBlock") == {"block_id": "b-1"}
    both = {"blocks": [BLOCK_PB, {**BLOCK_PB, "block_id": "b-2", "lifted_at": AT}]}
    listed = crewctl.json("block", "list", "dr-lee", ListBlocks=both)
    assert [b["block_id"] for b in listed] == ["b-1", "b-2"]
    assert sent(crewctl, "ListBlocks") == {"contractor_id": "dr-lee"}


def test_a_global_block_has_no_project(crewctl: Crewctl) -> None:
    answer = {"block": {"block_id": "b-1", "blocked_at": AT, "lifted_at": AT}}
    record = crewctl.json("block", "lift", "b-1", LiftBlock=answer)
    assert (record["project_id"], record["lifted_at"]) == (None, AT)
