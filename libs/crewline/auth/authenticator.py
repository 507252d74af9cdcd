"""Credential -> principal, on every call, with no call to another service.

API keys are checked against the key hashes in the service's own database; tokens
against the configured public keys and the revocations in its own database; the
operator credential against the digests in settings. Lookups are reused for
``cache_seconds`` (1 s by default), so a revocation bites on every replica at most
that long after it reaches the replica's database.

A token's signature is checked once and the result kept until the token expires
(its expiry is still checked on every call). Revocations are read as one set of
every unexpired revoked token, refreshed at most once per ``cache_seconds`` by one
query, however many contractors call: the hot path of a contractor's call makes
no database round trip.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
from cachetools import LRUCache, TTLCache

from crewline.auth import credentials as cred
from crewline.auth import store
from crewline.auth.credentials import Failure, refuse
from crewline.auth.principal import OPERATOR, Kind, Principal
from crewline.settings import AuthSettings
from crewline.timekeeping import Clock

_CACHE_ENTRIES = 100_000
_UNSEEN = object()


class Authenticator:
    def __init__(self, *, pool: asyncpg.Pool, settings: AuthSettings, clock: Clock) -> None:
        self._pool = pool
        self._operator_digests = settings.operator_credential_sha256
        self._tokens = cred.TokenVerifier(settings.token_public_keys)
        self._clock = clock
        ttl = settings.cache_seconds
        # Misses are cached too: a stream of made-up key ids costs one query per id per TTL.
        self._keys: TTLCache[str, store.ApiKeyRecord | None] = TTLCache(
            _CACHE_ENTRIES, ttl, timer=time.monotonic
        )
        self._ttl = ttl
        self._verified: LRUCache[str, cred.TokenClaims] = LRUCache(_CACHE_ENTRIES)
        self._revoked: frozenset[str] = frozenset()
        self._revoked_read_at = -float("inf")  # time.monotonic() of the last read
        self._revoked_lock = asyncio.Lock()

    async def authenticate(self, authorization: str | None) -> Principal:
        """The principal a ``Bearer`` credential proves; ``Unauthenticated`` says why not."""
        credential = cred.bearer(authorization)
        if credential.startswith(cred.API_KEY_PREFIX):
            return await self._client(credential)
        if credential.startswith(cred.OPERATOR_PREFIX):
            return self._operator(credential)
        if cred.is_token_form(credential):
            return await self._contractor(credential)
        raise refuse(
            Failure.MALFORMED, "neither an API key, a contractor token nor an operator credential"
        )

    async def _client(self, credential: str) -> Principal:
        key_id = cred.api_key_id(credential)
        key = await self._api_key(key_id)
        if key is None or not cred.digest_matches(credential, [key.secret_sha256]):
            raise refuse(Failure.FORGED, f"API key {key_id} is not one Crewline issued")
        if key.revoked_at is not None:
            raise refuse(Failure.REVOKED, f"API key {key_id} was revoked")
        return Principal(Kind.CLIENT, key.client_id)

    def _operator(self, credential: str) -> Principal:
        if not cred.is_operator_form(credential):
            raise refuse(Failure.MALFORMED, "not a well-formed operator credential")
        if not cred.digest_matches(credential, self._operator_digests):
            raise refuse(Failure.FORGED, "not the operator credential this service knows")
        return OPERATOR

    async def _contractor(self, credential: str) -> Principal:
        claims = self._verified.get(credential)
        now = self._clock.now()
        if claims is None or now >= claims.expires_at:
            claims = self._tokens.verify(credential, now=now)  # raises EXPIRED once it is
            self._verified[credential] = claims
        if claims.token_id in await self._revoked_tokens():
            raise refuse(Failure.REVOKED, f"token {claims.token_id} was revoked")
        return Principal(Kind.CONTRACTOR, claims.contractor_id)

    async def _api_key(self, key_id: str) -> store.ApiKeyRecord | None:
        cached = self._keys.get(key_id, _UNSEEN)
        if cached is not _UNSEEN:
            return cached  # type: ignore[return-value]
        key = await store.api_key(self._pool, key_id)
        self._keys[key_id] = key
        return key

    async def _revoked_tokens(self) -> frozenset[str]:
        """Every unexpired revoked token id, at most ``cache_seconds`` old."""
        if time.monotonic() - self._revoked_read_at < self._ttl:
            return self._revoked
        async with self._revoked_lock:  # one query for all the callers waiting here
            if time.monotonic() - self._revoked_read_at >= self._ttl:
                started = time.monotonic()
                self._revoked = await store.unexpired_revocations(self._pool, self._clock.now())
                self._revoked_read_at = started
        return self._revoked
