"""Golden cases of the operator's commands about people: clients and their keys,
contractors and their tokens, qualifications and blocks."""

from __future__ import annotations

from grpc_standin import Refusal

from crewctl_golden.harness import Case, case, invalid, missing
from crewctl_golden.records import (
    AT,
    BLOCK,
    CLIENT,
    CONTRACTOR,
    KEY,
    PROJECT_ID,
    QUALIFICATION,
    QUALIFICATION_TYPE,
    REVOKED_KEY,
    TOKEN,
)

CLIENTS = [
    case(
        "client_create",
        "client create",
        "acme-labs --name 'Acme Labs'",
        CreateClient={"client": CLIENT},
    ),
    case(
        "client_create_invalid",
        "client create",
        "'acme labs'",
        fails=True,
        CreateClient=invalid("client_id", "client_id: 1-128 of letters, digits and . _ : @ -"),
    ),
    case(
        "client_key_create",
        "client key create",
        "acme-labs --request-id onboarding-acme-1",
        CreateApiKey={"key": KEY, "secret": "crwk_3f9c2a7d1b_s3cr3t"},
    ),
    case("client_key_create_again", "client key create", "acme-labs", CreateApiKey={"key": KEY}),
    case(
        "client_key_create_unknown",
        "client key create",
        "nobody",
        fails=True,
        CreateApiKey=missing("client nobody"),
    ),
    case(
        "client_key_list", "client key list", "acme-labs", ListApiKeys={"keys": [KEY, REVOKED_KEY]}
    ),
    case(
        "client_key_list_unknown",
        "client key list",
        "nobody",
        fails=True,
        ListApiKeys=missing("client nobody"),
    ),
    case("client_key_revoke", "client key revoke", "3f9c2a7d1b", RevokeApiKey={"key": REVOKED_KEY}),
    case(
        "client_key_revoke_unauthenticated",
        "client key revoke",
        "3f9c2a7d1b",
        fails=True,
        RevokeApiKey=Refusal("UNAUTHENTICATED", "credential not recognised", "CREDENTIAL_UNKNOWN"),
    ),
    case("client_create_no_credential", "client create", "acme-labs", caller="none", fails=True),
]

CONTRACTORS = [
    case(
        "contractor_create",
        "contractor create",
        "dr-lee --name 'Dr. Ada Lee' --domains medicine,law --languages en,pt-BR --locale US"
        " --max-claims 5 --referred-by dr-kim",
        CreateContractor={"contractor": CONTRACTOR},
    ),
    case(
        "contractor_create_invalid",
        "contractor create",
        "dr-lee --languages xx-invalid-tag",
        fails=True,
        CreateContractor=invalid("languages[0]", "languages[0]: not a BCP 47 tag"),
    ),
    case("contractor_get", "contractor get", "dr-lee", GetContractor={"contractor": CONTRACTOR}),
    case(
        "contractor_get_unknown",
        "contractor get",
        "nobody",
        fails=True,
        GetContractor=missing("contractor nobody"),
    ),
    case(
        "contractor_update",
        "contractor update",
        "dr-lee --name 'Dr. Ada Lee-Park' --domains '' --max-claims 4",
        UpdateContractor={"contractor": CONTRACTOR},
    ),
    case(
        "contractor_update_stale",
        "contractor update",
        "dr-lee --locale GB",
        fails=True,
        UpdateContractor=Refusal("ABORTED", "contractor dr-lee changed meanwhile", "CONFLICT"),
    ),
    case("contractor_update_nothing", "contractor update", "dr-lee", fails=True),
    case(
        "contractor_deactivate",
        "contractor deactivate",
        "dr-lee --reason 'left'",
        DeactivateContractor={"contractor": {**CONTRACTOR, "active": False}},
    ),
    case(
        "contractor_deactivate_unknown",
        "contractor deactivate",
        "nobody --reason x",
        fails=True,
        DeactivateContractor=missing("contractor nobody"),
    ),
    case(
        "contractor_token",
        "contractor token",
        "dr-lee --ttl 3600",
        IssueContractorToken={"token": TOKEN, "secret": "golden.contractor.token"},
    ),
    case(
        "contractor_token_inactive",
        "contractor token",
        "dr-lee",
        fails=True,
        IssueContractorToken=Refusal(
            "FAILED_PRECONDITION", "contractor dr-lee is deactivated", "CONTRACTOR_INACTIVE"
        ),
    ),
    case(
        "contractor_revoke_token",
        "contractor revoke-token",
        "01J9Z6W3YQ8C",
        RevokeContractorToken={"token": {**TOKEN, "revoked_at": AT}},
    ),
    case(
        "contractor_revoke_token_unknown",
        "contractor revoke-token",
        "nope",
        fails=True,
        RevokeContractorToken=missing("token nope"),
    ),
]

QUALIFICATIONS = [
    case(
        "qualification_type_define",
        "qualification type define",
        "domain.dermatology --kind score --description 'Dermatology, 0-100'",
        DefineQualificationType={"qualification_type": QUALIFICATION_TYPE},
    ),
    case(
        "qualification_type_define_conflict",
        "qualification type define",
        "domain.dermatology --kind string",
        fails=True,
        DefineQualificationType=Refusal(
            "ALREADY_EXISTS", "domain.dermatology is a score type", "ALREADY_EXISTS"
        ),
    ),
    case(
        "qualification_type_list",
        "qualification type list",
        ListQualificationTypes={"qualification_types": [QUALIFICATION_TYPE]},
    ),
    case(
        "qualification_type_list_denied",
        "qualification type list",
        fails=True,
        ListQualificationTypes=Refusal("PERMISSION_DENIED", "operators only", "PERMISSION_DENIED"),
    ),
    case(
        "qualification_grant",
        "qualification grant",
        "dr-lee domain.dermatology --score 87",
        GrantQualification={"qualification": QUALIFICATION},
    ),
    case(
        "qualification_grant_text",
        "qualification grant",
        "dr-lee locale --text US",
        GrantQualification={
            "qualification": {
                **QUALIFICATION,
                "qualification": "locale",
                "kind": "QUALIFICATION_KIND_STRING",
                "score": 0,
                "text": "US",
            }
        },
    ),
    case(
        "qualification_grant_unknown_type",
        "qualification grant",
        "dr-lee domain.derm",
        fails=True,
        GrantQualification=invalid("qualification", "qualification: no type domain.derm"),
    ),
    case(
        "qualification_revoke",
        "qualification revoke",
        "dr-lee domain.dermatology --reason lapsed",
        RevokeQualification={},
    ),
    case(
        "qualification_revoke_unknown",
        "qualification revoke",
        "nobody domain.dermatology",
        fails=True,
        RevokeQualification=missing("contractor nobody"),
    ),
    case(
        "qualification_list",
        "qualification list",
        "dr-lee",
        ListQualificationTypes={"qualification_types": [QUALIFICATION_TYPE]},
        ListQualifications={
            "qualifications": [QUALIFICATION],
            "history": [
                {
                    "qualification": "domain.dermatology",
                    "change": "QUALIFICATION_CHANGE_GRANTED",
                    "score": 80,
                    "changed_at": AT,
                },
                {
                    "qualification": "domain.dermatology",
                    "change": "QUALIFICATION_CHANGE_UPDATED",
                    "score": 87,
                    "reason": "re-tested",
                    "changed_at": "2026-01-09T03:04:05Z",
                },
            ],
        },
    ),
    case(
        "qualification_list_unknown",
        "qualification list",
        "nobody",
        fails=True,
        ListQualifications=missing("contractor nobody"),
    ),
]

BLOCKS = [
    case(
        "block_create",
        "block create",
        f"dr-lee --project {PROJECT_ID} --reason 'conflict of interest' --block-id coi-dr-lee",
        BlockContractor={"block": BLOCK},
    ),
    case(
        "block_create_fresh_id",
        "block create",
        "dr-lee --reason 'copied answers'",
        BlockContractor={"block": {**BLOCK, "project_id": "", "reason": "copied answers"}},
    ),
    case(
        "block_create_unknown",
        "block create",
        "nobody --reason x",
        fails=True,
        BlockContractor=missing("contractor nobody"),
    ),
    case(
        "block_lift",
        "block lift",
        "coi-dr-lee",
        LiftBlock={"block": {**BLOCK, "lifted_at": "2026-01-09T03:04:05Z"}},
    ),
    case("block_lift_unknown", "block lift", "nope", fails=True, LiftBlock=missing("block nope")),
    case("block_list", "block list", "dr-lee", ListBlocks={"blocks": [BLOCK]}),
    case(
        "block_list_unknown",
        "block list",
        "nobody",
        fails=True,
        ListBlocks=missing("contractor nobody"),
    ),
]

_LISTED_BONUS = {
    "bonus": {
        "bonus_id": "b-1",
        "idempotency_key": "bonus-row-17",
        "amount": {"currency_code": "USD", "amount_minor": "500"},
        "reason": "Thorough notes",
        "granted_at": AT,
    },
    "submission_id": "01JA2B3C4D5E6F7G8H9J0KMNPQ",
    "task_id": "0f3e8c1a-5b7d-4c2e-9a6f-1d2b3c4e5f60",
    "project_id": PROJECT_ID,
    "client_id": "acme-labs",
    "contractor_id": "dr-lee",
}

LISTS = [
    case(
        "contractor_list",
        "contractor list",
        "--qualification domain.dermatology --not-blocked --active --all",
        ListContractors=[
            {"contractors": [{"contractor": CONTRACTOR}], "next_page_token": "p2"},
            {"contractors": [{"contractor": {**CONTRACTOR, "contractor_id": "dr-kim"}}]},
        ],
    ),
    case(
        "contractor_list_invalid",
        "contractor list",
        "--page-token stale",
        fails=True,
        ListContractors=invalid("page_token", "page_token: not a token of this list"),
    ),
    case(
        "client_list",
        "client list",
        "--page-size 1",
        ListClients={
            "clients": [{"client": CLIENT, "active_api_keys": 2}],
            "next_page_token": "p2",
        },
    ),
    case(
        "client_list_invalid",
        "client list",
        "--page-token stale",
        fails=True,
        ListClients=invalid("page_token", "page_token: not a token of this list"),
    ),
    case(
        "bonus_list",
        "bonus list",
        f"--client acme-labs --project {PROJECT_ID}",
        ListBonuses={"bonuses": [_LISTED_BONUS]},
    ),
    case(
        "bonus_list_invalid",
        "bonus list",
        "--page-size 501",
        fails=True,
    ),
]

CASES: list[Case] = [*CLIENTS, *CONTRACTORS, *QUALIFICATIONS, *BLOCKS, *LISTS]
