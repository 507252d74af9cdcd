"""Key material for a local stack, made on first start under ``$CREWLINE_HOME/secrets``.

``operator.credential`` (the operator's secret), ``token-signing.pem`` (the
matcher's Ed25519 private key) and ``token-public.pem`` (what every service
verifies tokens with). Files are created 0600 in a 0700 directory and never
overwritten. In production these come from the environment or mounted secrets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from crewline.auth.credentials import new_operator_credential, new_signing_key_pem

OPERATOR_FILE = "operator.credential"
SIGNING_KEY_FILE = "token-signing.pem"
PUBLIC_KEY_FILE = "token-public.pem"


@dataclass(frozen=True)
class LocalSecrets:
    directory: Path
    created: bool  # made just now: the operator credential is to be shown once

    @property
    def operator_file(self) -> Path:
        return self.directory / OPERATOR_FILE

    @property
    def signing_key_file(self) -> Path:
        return self.directory / SIGNING_KEY_FILE

    @property
    def public_key_file(self) -> Path:
        return self.directory / PUBLIC_KEY_FILE

    def operator_credential(self) -> str:
        return self.operator_file.read_text().strip()


def ensure(directory: Path) -> LocalSecrets:
    """The secrets in ``directory``, made if missing (an existing file is kept)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    made = _write_once(directory / OPERATOR_FILE, (new_operator_credential() + "\n").encode())
    if not (directory / SIGNING_KEY_FILE).exists():
        private, public = new_signing_key_pem()
        _write_once(directory / SIGNING_KEY_FILE, private)
        (directory / PUBLIC_KEY_FILE).unlink(missing_ok=True)
        _write_once(directory / PUBLIC_KEY_FILE, public)
    return LocalSecrets(directory, made)


def _write_once(path: Path, content: bytes) -> bool:
    """Write a new 0600 file; False (and nothing written) when it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    return True
