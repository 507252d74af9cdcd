"""What the SDK's blocking objects tell a tool like crewctl, against stand-in servers:
health without a credential, each service's liveness and readiness at once, which service
and address refused a call, and a contractor's earnings asked by its own id."""

from __future__ import annotations

import pytest
from grpc_standin import Refusal, StandIns

from crewline.client import Endpoints, NotFound, sync
from crewline.client.upkeep import ServiceHealth


def endpoints(servers: StandIns) -> Endpoints:
    return Endpoints(**{name: servers.address(name) for name in servers.servers})


def test_an_operator_without_a_credential_checks_health_with_none(servers: StandIns) -> None:
    servers.play({"Check": [{"status": "SERVING"}]})
    with sync.Operator(endpoints=endpoints(servers), env={}, credential_required=False) as operator:
        assert operator.health("dispatcher", check="liveness") == "SERVING"
    assert [r.authorization for r in servers.received] == [None]


def test_an_operator_needs_a_credential_unless_told_otherwise() -> None:
    with pytest.raises(ValueError, match="CREWLINE_OPERATOR_CREDENTIAL"):
        sync.Operator(env={})


def test_the_health_report_has_both_checks_of_every_service(servers: StandIns) -> None:
    servers.play(
        {
            "Check": [{"status": "SERVING"}],
            "ledger:Check": [{"status": "SERVING"}, {"status": "NOT_SERVING"}],
            "matcher:Check": [Refusal("UNAVAILABLE", "down")],
            "quality:Check": [Refusal("PERMISSION_DENIED", "not you")],
        }
    )
    with sync.Operator(credential="op", endpoints=endpoints(servers), env={}) as operator:
        report = operator.health_report()

    assert report == [
        ServiceHealth(
            service="dispatcher",
            address=servers.address("dispatcher"),
            liveness="SERVING",
            readiness="SERVING",
        ),
        ServiceHealth(
            service="matcher",
            address=servers.address("matcher"),
            liveness="UNREACHABLE",
            readiness="UNREACHABLE",
        ),
        ServiceHealth(
            service="ledger",
            address=servers.address("ledger"),
            liveness="SERVING",
            readiness="NOT_SERVING",
        ),
        ServiceHealth(
            service="quality",
            address=servers.address("quality"),
            liveness="PERMISSION_DENIED",
            readiness="PERMISSION_DENIED",
        ),
    ]
    assert [r.serving for r in report] == [True, False, False, False]
    asked = sorted((r.server, r.request["service"]) for r in servers.received)
    assert ("matcher", "readiness") not in asked  # unreachable once is unreachable


def test_a_refusal_names_the_service_and_the_address_called(servers: StandIns) -> None:
    servers.play({"GetContractor": [Refusal("NOT_FOUND", "contractor x not found", "NOT_FOUND")]})
    with sync.Operator(credential="op", endpoints=endpoints(servers), env={}) as operator:
        with pytest.raises(NotFound) as refused:
            operator.get_contractor("x")
    assert (refused.value.service, refused.value.address) == (
        "matcher",
        servers.address("matcher"),
    )


def test_a_refused_stream_names_the_service_and_the_address(servers: StandIns) -> None:
    servers.play({"Watch": [Refusal("NOT_FOUND", "project p not found", "NOT_FOUND")]})
    with sync.Client(credential="key", endpoints=endpoints(servers), env={}) as client:
        with pytest.raises(NotFound) as refused:
            next(iter(client.watch(project_id="p")))
    assert (refused.value.service, refused.value.address) == (
        "dispatcher",
        servers.address("dispatcher"),
    )


def test_a_contractor_may_name_itself_when_asking_for_its_earnings(servers: StandIns) -> None:
    servers.play({"GetEarnings": [{"contractor_id": "dr-lee"}]})
    with sync.Contractor(credential="tok", endpoints=endpoints(servers), env={}) as me:
        assert me.earnings().contractor_id == "dr-lee"
        me.earnings(contractor_id="dr-lee")
    assert [r.request for r in servers.received] == [{}, {"contractor_id": "dr-lee"}]
