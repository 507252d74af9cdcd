"""The three credential formats, and what each failure is called. Pure: no I/O.

Every call carries ``authorization: Bearer <credential>``. The credential's form
says its kind:

- client API key ``crwk_<key_id>_<secret>``: 256 random bits. Services keep only
  its SHA-256; a slow password hash would add nothing to a secret this long.
- operator credential ``crwo_<secret>``: 256 random bits; services keep its SHA-256.
- contractor token: a JWT signed with Ed25519 (PyJWT over ``cryptography``), with
  ``sub`` the contractor, ``jti`` the token id, ``kind`` "contractor" and ``exp``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crewline.errors import Unauthenticated

API_KEY_PREFIX = "crwk_"
OPERATOR_PREFIX = "crwo_"
_API_KEY = re.compile(r"crwk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_OPERATOR = re.compile(r"crwo_[A-Za-z0-9_-]{43}")
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
ISSUER = AUDIENCE = "crewline"
TOKEN_KIND = "contractor"
_ALGORITHM = "EdDSA"


class Failure(enum.StrEnum):
    """Why a credential was refused; the ``reason`` the caller receives."""

    MISSING = "CREDENTIAL_MISSING"
    MALFORMED = "CREDENTIAL_MALFORMED"
    EXPIRED = "CREDENTIAL_EXPIRED"
    FORGED = "CREDENTIAL_FORGED"
    REVOKED = "CREDENTIAL_REVOKED"
    WRONG_KIND = "CREDENTIAL_WRONG_KIND"


def refuse(failure: Failure, detail: str) -> Unauthenticated:
    """The error for a refused credential. ``detail`` must never quote the credential."""
    return Unauthenticated(
        f"{failure.name.lower().replace('_', '-')} credential: {detail}", reason=failure
    )


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def digest_matches(secret: str, digests: Iterable[str]) -> bool:
    """Whether the secret's SHA-256 is one of ``digests``, compared in constant time."""
    mine = sha256_hex(secret)
    return any(hmac.compare_digest(mine, d) for d in digests)


def bearer(value: str | None) -> str:
    """The credential in an ``authorization`` metadata value."""
    if not value:
        raise refuse(Failure.MISSING, "send 'authorization: Bearer <credential>'")
    scheme, _, credential = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise refuse(Failure.MALFORMED, "the authorization metadata must be 'Bearer <credential>'")
    return credential.strip()


# --- client API keys ---------------------------------------------------------


@dataclass(frozen=True)
class NewApiKey:
    key_id: str
    credential: str  # shown once, never stored
    secret_sha256: str


def new_api_key() -> NewApiKey:
    key_id = secrets.token_hex(8)
    credential = f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return NewApiKey(key_id, credential, sha256_hex(credential))


def api_key_id(credential: str) -> str:
    """The public key id of an API key credential."""
    match = _API_KEY.fullmatch(credential)
    if not match:
        raise refuse(Failure.MALFORMED, "not a well-formed API key")
    return match.group(1)


def new_operator_credential() -> str:
    return f"{OPERATOR_PREFIX}{secrets.token_urlsafe(32)}"


def is_operator_form(credential: str) -> bool:
    return bool(_OPERATOR.fullmatch(credential))


def is_token_form(credential: str) -> bool:
    return bool(_JWT.fullmatch(credential))


# --- contractor tokens ---------------------------------------------------------


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint naming a signing key, carried in each token's ``kid``."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("token public key must be Ed25519")
    return key


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("token signing key must be Ed25519")
    return key


def new_signing_key_pem() -> tuple[bytes, bytes]:
    """A fresh Ed25519 key pair as (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@dataclass(frozen=True)
class TokenClaims:
    contractor_id: str
    token_id: str
    issued_at: datetime
    expires_at: datetime


class TokenSigner:
    """Signs contractor tokens (the matcher holds the private key)."""

    def __init__(self, private_pem: bytes) -> None:
        self._key = load_private_key(private_pem)
        self._kid = key_id_of(self._key.public_key())

    def sign(self, claims: TokenClaims, *, kind: str = TOKEN_KIND) -> str:
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": claims.contractor_id,
            "jti": claims.token_id,
            "kind": kind,
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        }
        return jwt.encode(payload, self._key, algorithm=_ALGORITHM, headers={"kid": self._kid})


class TokenVerifier:
    """Checks a token's signature against the configured public keys, and its claims."""

    def __init__(self, public_pems: Iterable[bytes]) -> None:
        keys = [load_public_key(pem) for pem in public_pems]
        self._keys: Mapping[str, Ed25519PublicKey] = {key_id_of(k): k for k in keys}

    def verify(self, token: str, *, now: datetime) -> TokenClaims:
        claims = self._decode(token)
        if claims.get("kind") != TOKEN_KIND:
            raise refuse(Failure.WRONG_KIND, "the token is not a contractor token")
        expires = _claim_time(claims, "exp")
        if now.timestamp() >= expires.timestamp():
            raise refuse(Failure.EXPIRED, f"the token expired at {expires.isoformat()}")
        subject, token_id = claims.get("sub"), claims.get("jti")
        if not isinstance(subject, str) or not subject or not isinstance(token_id, str):
            raise refuse(Failure.MALFORMED, "the token lacks its subject or id")
        return TokenClaims(subject, token_id, _claim_time(claims, "iat"), expires)

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:  # DecodeError, and what PyJWT checks in the header
            raise refuse(Failure.MALFORMED, "not a well-formed token") from None
        key = self._keys.get(str(header.get("kid", "")))
        if key is None or header.get("alg") != _ALGORITHM:
            raise refuse(Failure.FORGED, "the token is not signed by a Crewline key")
        try:
            return dict(
                jwt.decode(
                    token,
                    key,
                    algorithms=[_ALGORITHM],
                    audience=AUDIENCE,
                    issuer=ISSUER,
                    # Expiry is checked against the service's clock, above.
                    options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
                )
            )
        except jwt.InvalidSignatureError:
            raise refuse(Failure.FORGED, "the token's signature does not verify") from None
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
            raise refuse(Failure.WRONG_KIND, "the token was not issued for Crewline") from None
        except jwt.InvalidTokenError:
            raise refuse(Failure.MALFORMED, "not a well-formed token") from None


def _claim_time(claims: Mapping[str, Any], name: str) -> datetime:
    value = claims.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise refuse(Failure.MALFORMED, f"the token lacks a numeric '{name}'")
    return datetime.fromtimestamp(value, UTC)
