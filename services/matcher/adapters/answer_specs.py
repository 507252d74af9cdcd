"""Projects' answer specs by version: stored from ProjectChanged, cached in the process.

A project numbers its specs 1, 2, ... (0: it never had one) and a version never
changes once written, so a cached entry is never stale: the first use of a (project,
version) in a process costs one primary-key lookup, every later one a dictionary read,
and a spec is compiled into a checker once, and into its protobuf message once. Claims
and offers carry only the version; the spec is attached here when they are shown, and
``spec_to_pb`` hands the protobuf adapter that version's message, built already.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import replace

import asyncpg
from cachetools import LRUCache

from crewline.answer_check import AnswerChecker
from crewline.answers import AnswerSpec, from_json, to_json
from crewline.protobuf import answer_spec_to_pb
from crewline.v1 import project_pb2
from matcher.domain.claims import Claim
from matcher.domain.offers import Offer

Key = tuple[str, int]  # (project_id, version)


class SpecVersion:
    """One version of a project's spec; ``spec`` None when it is no spec (version 0, or
    a version with no fields: any bytes are a result)."""

    def __init__(self, spec: AnswerSpec | None) -> None:
        self.spec = spec if spec is not None and spec.fields else None
        self._checker: AnswerChecker | None = None
        self._pb: project_pb2.AnswerSpec | None = None
        if self.spec is not None:
            _VERSIONS[id(self.spec)] = self

    @property
    def pb(self) -> project_pb2.AnswerSpec:
        """The spec's protobuf message, built on first use: every claim and offer shown
        under this version copies it (callers never change it)."""
        assert self.spec is not None, "no spec, no message: the field is left out"
        if self._pb is None:
            self._pb = answer_spec_to_pb(self.spec)
        return self._pb

    def check(self, result: bytes) -> None:
        """INVALID_ARGUMENT naming ``result.<field>`` when the result does not fit."""
        if self.spec is None:
            return
        if self._checker is None:  # compiled on first use: offers show specs unchecked
            self._checker = AnswerChecker(self.spec)
        self._checker.check(result, field="result")


# Each live version, by the identity of the spec it attaches to claims and offers; an
# entry goes with its version (the cache's LRU evicts it), and the version keeps the spec
# alive, so an id is never another object's while listed.
_VERSIONS: weakref.WeakValueDictionary[int, SpecVersion] = weakref.WeakValueDictionary()

NO_SPEC = SpecVersion(None)


def spec_to_pb(spec: AnswerSpec) -> project_pb2.AnswerSpec:
    """The protobuf message of a spec this module attached: its version's, built once (a
    spec from elsewhere is converted anew). Callers copy it and never change it."""
    version = _VERSIONS.get(id(spec))
    if version is not None and version.spec is spec:
        return version.pb
    return answer_spec_to_pb(spec)


class AnswerSpecs:
    def __init__(self, *, size: int = 10_000) -> None:
        self._cache: LRUCache[Key, SpecVersion] = LRUCache(size)

    async def get(
        self, db: asyncpg.Pool | asyncpg.Connection, project_id: str, version: int
    ) -> SpecVersion:
        return (await self.get_many(db, [(project_id, version)]))[(project_id, version)]

    async def get_many(
        self, db: asyncpg.Pool | asyncpg.Connection, keys: Iterable[Key]
    ) -> dict[Key, SpecVersion]:
        """Each key's version; those not cached in one query."""
        found: dict[Key, SpecVersion] = {}
        missing: set[Key] = set()
        for key in keys:
            if key[1] == 0:
                found[key] = NO_SPEC
            elif (cached := self._cache.get(key)) is not None:
                found[key] = cached
            else:
                missing.add(key)
        if missing:
            projects, versions = zip(*missing, strict=True)
            rows = await db.fetch(
                "SELECT s.project_id, s.version, s.spec FROM answer_specs s"
                " JOIN unnest($1::text[], $2::integer[]) k (project_id, version)"
                " ON s.project_id = k.project_id AND s.version = k.version",
                list(projects),
                list(versions),
            )
            for row in rows:
                key = (row["project_id"], row["version"])
                found[key] = self._cache[key] = SpecVersion(from_json(_json(row["spec"])))
            if unknown := missing - found.keys():
                # Stored with the project revision that brought it: never missing.
                raise LookupError(f"answer spec versions not stored: {sorted(unknown)}")
        return found

    async def shown(self, db: asyncpg.Pool | asyncpg.Connection, claim: Claim) -> Claim:
        """The claim with its spec attached, for its contractor to see."""
        version = await self.get(db, claim.project_id, claim.answer_spec_version)
        return replace(claim, answer_spec=version.spec)

    async def shown_claims(
        self, db: asyncpg.Pool | asyncpg.Connection, claims: Sequence[Claim]
    ) -> list[Claim]:
        found = await self.get_many(db, {(c.project_id, c.answer_spec_version) for c in claims})
        return [
            replace(c, answer_spec=found[(c.project_id, c.answer_spec_version)].spec)
            for c in claims
        ]

    async def shown_offers(
        self, db: asyncpg.Pool | asyncpg.Connection, offers: Sequence[Offer]
    ) -> list[Offer]:
        """The offers with their projects' current specs attached."""
        found = await self.get_many(db, {(o.project_id, o.answer_spec_version) for o in offers})
        return [
            replace(o, answer_spec=found[(o.project_id, o.answer_spec_version)].spec)
            for o in offers
        ]


def _json(raw: str | dict[str, object]) -> dict[str, object]:
    return json.loads(raw) if isinstance(raw, str) else raw


async def current_version(conn: asyncpg.Connection, project_id: str) -> int:
    """The project's spec version as stored (0: none, or the project is not known)."""
    version = await conn.fetchval(
        "SELECT answer_spec_version FROM projects WHERE project_id = $1", project_id
    )
    return int(version or 0)


async def store(conn: asyncpg.Connection, project_id: str, spec: AnswerSpec) -> None:
    """Keep this version of the project's spec and make it the project's current one
    (unless a later one is). A repeat changes nothing."""
    await conn.execute(
        "WITH kept AS (INSERT INTO answer_specs (project_id, version, spec)"
        " VALUES ($1, $2, $3::json) ON CONFLICT (project_id, version) DO NOTHING)"
        " UPDATE projects SET answer_spec_version = $2"
        " WHERE project_id = $1 AND answer_spec_version < $2",
        project_id,
        spec.version,
        json.dumps(to_json(spec)),
    )
