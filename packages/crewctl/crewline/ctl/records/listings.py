"""The operator's lists (contractors, clients, bonuses, payout batches) and a payout
batch's preview, as records."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from crewline.ctl.pb import MoneyRecord, money_field, timestamp_text
from crewline.ctl.records.clients import ClientRecord, client_record
from crewline.ctl.records.contractors import ContractorRecord, contractor_record
from crewline.ctl.records.ledger import PayoutBatchRecord, batch_record
from crewline.ctl.records.submissions import BonusRecord, bonus_record

if TYPE_CHECKING:
    from crewline.client import results
    from crewline.v1 import client_admin_service_pb2 as client_admin
    from crewline.v1 import contractor_admin_service_pb2 as contractor_admin
    from crewline.v1 import ledger_service_pb2 as ledger_api


class ListedContractorRecord(ContractorRecord):
    blocked: bool  # a block in force on at least one project, or on every project
    blocked_everywhere: bool


class ContractorPage(TypedDict):
    contractors: list[ListedContractorRecord]
    next_page_token: str  # empty on the last page


class ListedClientRecord(ClientRecord):
    active_api_keys: int  # keys that authenticate now


class ClientPage(TypedDict):
    clients: list[ListedClientRecord]
    next_page_token: str


class ListedBonusRecord(BonusRecord):
    submission_id: str
    task_id: str
    project_id: str
    client_id: str  # who granted it
    contractor_id: str  # who received it


class BonusPage(TypedDict):
    bonuses: list[ListedBonusRecord]
    next_page_token: str


class ListedBatchRecord(PayoutBatchRecord):
    payout_count: int
    completed_at: str | None  # None while a run was cut short: run it again to finish


class BatchPage(TypedDict):
    batches: list[ListedBatchRecord]  # newest first, without their payouts
    next_page_token: str


class PreviewedPayoutRecord(TypedDict):
    contractor_id: str
    account_id: str
    amount: MoneyRecord | None  # the account's whole balance in the currency


class PayoutPreviewRecord(TypedDict):
    """What ``payout run`` would pay now; nothing was paid or reserved."""

    dry_run: bool  # always true: a preview, not a batch
    threshold: MoneyRecord | None
    payouts: list[PreviewedPayoutRecord]
    total: MoneyRecord | None
    previewed_at: str | None


def contractor_page(reply: contractor_admin.ListContractorsResponse) -> ContractorPage:
    return {
        "contractors": [
            {
                **contractor_record(listed.contractor),
                "blocked": listed.blocked,
                "blocked_everywhere": listed.blocked_everywhere,
            }
            for listed in reply.contractors
        ],
        "next_page_token": reply.next_page_token,
    }


def client_page(reply: client_admin.ListClientsResponse) -> ClientPage:
    return {
        "clients": [
            {**client_record(listed.client), "active_api_keys": listed.active_api_keys}
            for listed in reply.clients
        ],
        "next_page_token": reply.next_page_token,
    }


def _listed_bonus(listed: client_admin.ListedBonus) -> ListedBonusRecord:
    return {
        **bonus_record(listed.bonus),
        "submission_id": listed.submission_id,
        "task_id": listed.task_id,
        "project_id": listed.project_id,
        "client_id": listed.client_id,
        "contractor_id": listed.contractor_id,
    }


def bonus_page(reply: results.Page[results.ListedBonus]) -> BonusPage:
    return {
        "bonuses": [_listed_bonus(listed.raw) for listed in reply.items],
        "next_page_token": reply.next_page_token,
    }


def _listed_batch(batch: ledger_api.PayoutBatch) -> ListedBatchRecord:
    return {
        **batch_record(batch),
        "payout_count": batch.payout_count,
        "completed_at": timestamp_text(batch, "completed_at"),
    }


def batch_page(reply: results.Page[results.PayoutBatch]) -> BatchPage:
    return {
        "batches": [_listed_batch(batch.raw) for batch in reply.items],
        "next_page_token": reply.next_page_token,
    }


def preview_record(reply: ledger_api.PreviewPayoutBatchResponse) -> PayoutPreviewRecord:
    return {
        "dry_run": True,
        "threshold": money_field(reply, "threshold"),
        "payouts": [
            {
                "contractor_id": p.contractor_id,
                "account_id": p.account_id,
                "amount": money_field(p, "amount"),
            }
            for p in reply.payouts
        ],
        "total": money_field(reply, "total"),
        "previewed_at": timestamp_text(reply, "previewed_at"),
    }
