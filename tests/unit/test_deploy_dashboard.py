"""The Grafana dashboard (deploy/grafana): committed as its generator prints it, and
querying only metrics the services export."""

from __future__ import annotations

import ast
import json
import re
import runpy
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("dispatcher", "matcher", "ledger", "quality")
_KINDS = {"Counter", "Gauge", "Histogram", "Summary"}
# What a histogram or summary exposes besides its name.
_SUFFIXES = ("_bucket", "_sum", "_count")


def _metric_names(path: Path, prefixes: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(name, kind) of each metric the module creates: the first argument of every
    ``Counter(...)``, ``Gauge(...)``, ... call, its f-string prefix being ``crewline_<svc>``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        kind = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if kind not in _KINDS:
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            yield first.value, kind
        elif isinstance(first, ast.JoinedStr):
            tail = "".join(
                v.value for v in first.values[1:] if isinstance(v, ast.Constant)
            )  # f"{p}_rest": the prefix, then literal text
            assert isinstance(first.values[0], ast.FormattedValue), ast.unparse(first)
            for prefix in prefixes:
                yield prefix + tail, kind


def exported_metrics() -> set[str]:
    """Every series name the services can expose, histogram suffixes included."""
    kernel = tuple(f"crewline_{s}" for s in SERVICES)
    found: set[tuple[str, str]] = set()
    for path in (ROOT / "libs" / "crewline").rglob("*.py"):
        if "v1" not in path.relative_to(ROOT / "libs" / "crewline").parts:
            found.update(_metric_names(path, kernel))
    for service in SERVICES:
        for path in (ROOT / "services" / service).rglob("*.py"):
            found.update(_metric_names(path, (f"crewline_{service}",)))
    names = {name for name, _ in found}
    names |= {
        name + s for name, kind in found if kind in {"Histogram", "Summary"} for s in _SUFFIXES
    }
    return names


def queried_metrics(board: dict[str, object]) -> set[str]:
    panels = board["panels"]
    assert isinstance(panels, list)
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    assert exprs
    return {m for e in exprs for m in re.findall(r"\bcrewline_[a-z0-9_]+", e)}


def test_the_committed_dashboard_is_what_the_generator_prints() -> None:
    generator = runpy.run_path(str(ROOT / "deploy" / "grafana" / "dashboard.py"))
    committed = (ROOT / "deploy" / "grafana" / "crewline.json").read_text()
    assert generator["render"]() == committed, "run: python deploy/grafana/dashboard.py > ..."


def test_every_metric_a_panel_queries_is_exported_by_a_service() -> None:
    board = json.loads((ROOT / "deploy" / "grafana" / "crewline.json").read_text())
    exported = exported_metrics()
    assert "crewline_ledger_rpc_requests_total" in exported  # the scan sees the kernel's
    assert "crewline_matcher_offer_messages_total" in exported  # ...and each service's own
    assert "crewline_matcher_rpc_duration_seconds_bucket" in exported
    assert sorted(queried_metrics(board) - exported) == []


def test_a_misspelt_metric_would_be_caught() -> None:
    board = {"panels": [{"targets": [{"expr": "rate(crewline_ledger_postings_totl[5m])"}]}]}
    assert queried_metrics(board) - exported_metrics() == {"crewline_ledger_postings_totl"}


def test_panels_have_unique_ids_and_each_query_a_unique_ref_id() -> None:
    board = json.loads((ROOT / "deploy" / "grafana" / "crewline.json").read_text())
    ids = [p["id"] for p in board["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in board["panels"]:
        refs = [t["refId"] for t in panel.get("targets", [])]
        assert len(set(refs)) == len(refs) and all(refs), panel["title"]
