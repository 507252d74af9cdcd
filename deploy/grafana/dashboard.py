"""Crewline's Grafana dashboard, built with grafana-foundation-sdk.

    .venv/bin/python deploy/grafana/dashboard.py > deploy/grafana/crewline.json

The JSON is committed (Compose provisions it); ``make lint`` checks that it is what this
prints, and tests/unit/test_deploy_dashboard.py that every metric a panel queries is one
the services export. Queries name each service's metrics in full
(``crewline_<service>_...``), never by regular expression, so that check can see them.
"""

from __future__ import annotations

import string

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

SERVICES = ("dispatcher", "matcher", "ledger", "quality")
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "[$__rate_interval]"
UID = "crewline-overview"

PanelBuilder = Builder[model.Panel]


def query(expr: str, legend: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).datasource(DATASOURCE)


def graph(title: str, unit: str, description: str, *targets: prometheus.Dataquery) -> PanelBuilder:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .min(0)
        .height(8)
        .span(12)
        .datasource(DATASOURCE)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(
            common_builders.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def per_service(
    template: str, legend: str, services: tuple[str, ...] = SERVICES
) -> list[prometheus.Dataquery]:
    """One query per service: ``template`` with ``{svc}`` replaced by its name."""
    return [query(template.format(svc=s), f"{s} {legend}".strip()) for s in services]


def p99(metric: str, by: str) -> str:
    return f"histogram_quantile(0.99, sum by ({by}, le) (rate({metric}_bucket{RATE})))"


def rpc_panels() -> list[PanelBuilder]:
    return [
        graph(
            "RPC rate by method",
            "reqps",
            "gRPC calls answered per second, by method and status code.",
            *per_service(
                f"sum by (method, code) (rate(crewline_{{svc}}_rpc_requests_total{RATE}))",
                "{{method}} {{code}}",
            ),
        ),
        graph(
            "RPC latency by method (p99)",
            "s",
            "99th percentile of the time to handle a call, by method.",
            *(
                query(p99(f"crewline_{s}_rpc_duration_seconds", "method"), f"{s} {{{{method}}}}")
                for s in SERVICES
            ),
        ),
    ]


def work_panels() -> list[PanelBuilder]:
    claims = "crewline_matcher_claims_total"
    return [
        graph(
            "Claims granted and lost races",
            "reqps",
            "ClaimTask decisions per second, counted by the matcher where it grants the"
            " slot: claims granted, races lost (every slot taken first: NO_FREE_SLOT), and"
            " the other refusals by reason.",
            query(f'sum(rate({claims}{{outcome="granted"}}{RATE}))', "granted"),
            query(f'sum(rate({claims}{{outcome="NO_FREE_SLOT"}}{RATE}))', "lost race"),
            query(
                f"sum by (outcome) (rate({claims}"
                f'{{outcome!~"granted|repeated|NO_FREE_SLOT"}}{RATE}))',
                "refused {{outcome}}",
            ),
        ),
        graph(
            "Claims per commit",
            "short",
            "Group commit: ClaimTask calls the matcher sent to PostgreSQL together, in one"
            " statement and one commit (those that arrived while the previous batch ran),"
            " on average per batch; and batches PostgreSQL failed as a whole (a deadlock,"
            " or one claim's error), which went again one claim at a time.",
            query(
                f"sum(rate(crewline_matcher_claim_batch_rows_sum{RATE}))"
                f" / sum(rate(crewline_matcher_claim_batch_rows_count{RATE}))",
                "claims per batch",
            ),
            query(f"sum(rate(crewline_matcher_claim_batch_splits_total{RATE}))", "split batches/s"),
        ),
        graph(
            "Offers fan-out latency",
            "s",
            "From a matcher replica taking in a change's notification (sent by PostgreSQL"
            " at its commit) to the last offer or withdrawal it caused being queued on the"
            " contractors' streams; one observation per burst of notifications.",
            *(
                query(
                    f"histogram_quantile({q}, sum by (le) ("
                    f"rate(crewline_matcher_offer_fanout_seconds_bucket{RATE})))",
                    f"p{round(q * 100)}",
                )
                for q in (0.5, 0.99)
            ),
        ),
        graph(
            "Postings per second",
            "ops",
            "Journal transactions the ledger booked per second, by kind (a pay includes"
            " its platform fee). Redelivered events book nothing and count nothing.",
            query(f"sum by (kind) (rate(crewline_ledger_postings_total{RATE}))", "{{kind}}"),
        ),
        books_balanced(),
        stat.Panel()
        .title("Books verified")
        .description(
            "VerifyBooks runs over the dashboard's range, by result: balanced when every"
            " transaction sums to zero and every balance is the sum of its entries."
        )
        .height(8)
        .span(6)
        .datasource(DATASOURCE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .color_mode(common.BigValueColorMode.VALUE)
        .with_target(
            query(
                "sum by (result) (increase(crewline_ledger_books_verified_total[$__range]))",
                "{{result}}",
            ).instant()
        ),
        graph(
            "Reviews scored",
            "ops",
            "Reviews the quality service learnt per second, by kind (accepted, rejected, or"
            " overridden: a rejection turned into an acceptance), and the scores they moved."
            " Redelivered events, and rejections arriving after their override, count nothing.",
            query(f"sum by (kind) (rate(crewline_quality_reviews_total{RATE}))", "{{kind}}"),
            query(
                f"sum by (measure) (rate(crewline_quality_score_changes_total{RATE}))",
                "{{measure}} changed",
            ),
        ),
    ]


def books_balanced() -> PanelBuilder:
    """The last verification's result: 0 on any replica is unbalanced books."""

    def shown(text: str, color: str) -> model.ValueMappingResult:
        return model.ValueMappingResult(text=text, color=color)

    return (
        stat.Panel()
        .title("Books balanced")
        .description(
            "What the last VerifyBooks found (the worst over the ledger's replicas, each"
            " reporting its own last run). CrewlineBooksUnbalanced pages on UNBALANCED."
        )
        .height(8)
        .span(6)
        .datasource(DATASOURCE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .mappings(
            [
                model.ValueMap(
                    options={"0": shown("UNBALANCED", "red"), "1": shown("balanced", "green")}
                ),
                model.SpecialValueMap(
                    options=model.DashboardSpecialValueMapOptions(
                        match=model.SpecialValueMatch.NULL_AND_NAN,
                        result=shown("not verified yet", "text"),
                    )
                ),
            ]
        )
        .with_target(query("min(crewline_ledger_books_balanced)", "balanced").instant())
    )


def pipeline_panels() -> list[PanelBuilder]:
    return [
        graph(
            "Consumer lag",
            "short",
            "Records between each consumer group's committed offset and the high watermark.",
            *per_service("sum by (topic) (crewline_{svc}_consumer_lag_messages)", "{{topic}}"),
        ),
        graph(
            "Outbox backlog",
            "short",
            "Outbox rows written but not yet published to Kafka, and the age in seconds"
            " of the oldest of them.",
            *per_service("sum(crewline_{svc}_outbox_backlog_events)", "rows"),
            *per_service("max(crewline_{svc}_outbox_oldest_unsent_age_seconds)", "oldest (s)"),
        ),
        graph(
            "Offer stream backlog",
            "short",
            "Messages waiting in the matcher's open StreamOffers buffers, and how full the"
            " fullest is (1: it is told to resync at the next message).",
            query("sum(crewline_matcher_offer_stream_queued_messages)", "queued"),
            query("max(crewline_matcher_offer_stream_buffer_max_fill_ratio)", "fullest buffer"),
        ),
        graph(
            "Deadline lateness (p99)",
            "s",
            "How long after its due time each kind of durable deadline fired.",
            *(
                query(p99(f"crewline_{s}_deadline_lateness_seconds", "kind"), f"{s} {{{{kind}}}}")
                for s in SERVICES
            ),
        ),
        graph(
            "Readiness, dependencies and workers",
            "short",
            "Ready replicas of each service; 1 while PostgreSQL or Kafka answers the"
            " service's probe, and while each long-running worker is not failing.",
            *per_service("sum(crewline_{svc}_ready)", "ready replicas"),
            *per_service("min by (dependency) (crewline_{svc}_dependency_up)", "{{dependency}}"),
            *per_service("min by (worker) (crewline_{svc}_worker_healthy)", "{{worker}}"),
        ),
        graph(
            "Dead letters open",
            "short",
            "Consumed events set aside for an operator (crewctl deadletters list).",
            *per_service("sum by (topic) (crewline_{svc}_dead_letters_open)", "{{topic}}"),
        ),
    ]


def build() -> dash.Dashboard:
    board = (
        dash.Dashboard("Crewline")
        .uid(UID)
        .tags(["crewline"])
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
        .with_variable(
            dash.DatasourceVariable("datasource").label("Data source").type("prometheus")
        )
    )
    sections = [
        ("Calls", rpc_panels()),
        ("Work and pay", work_panels()),
        ("Pipelines", pipeline_panels()),
    ]
    for title, panels in sections:
        board = board.with_row(dash.Row(title))
        for panel in panels:
            board = board.with_panel(panel)
    return board


def render() -> str:
    """The dashboard's JSON, panels numbered and each panel's queries lettered."""
    board = build().build()
    for number, panel in enumerate(board.panels or [], start=1):
        panel.id_val = number
        for index, target in enumerate(getattr(panel, "targets", None) or []):
            target.ref_id = string.ascii_uppercase[index]
    return JSONEncoder(sort_keys=True, indent=2).encode(board) + "\n"


if __name__ == "__main__":
    print(render(), end="")
