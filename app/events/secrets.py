"""Webhook signing secrets: made here, shown once, stored encrypted.

A secret is `whsec_` + base64 of 32 random bytes, the Standard Webhooks format. The database
keeps it encrypted with AES-256-GCM under a key derived (HKDF-SHA256) from a server-side
secret that never enters the database, so a dump of the database alone cannot forge a
signature. The endpoint's id is the associated data: a ciphertext copied onto another
endpoint's row does not decrypt.
"""

import base64
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
_SECRET_BYTES = 32
_NONCE_BYTES = 12
_VERSION = "v1:"
_KDF_INFO = b"billing: webhook endpoint signing secrets v1"


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key a `whsec_…` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


class SecretBox:
    """Encrypts endpoint secrets for storage with a key derived from `server_secret`."""

    def __init__(self, server_secret: str) -> None:
        key = HKDF(algorithm=SHA256(), length=32, salt=None, info=_KDF_INFO).derive(
            server_secret.encode()
        )
        self._aead = AESGCM(key)

    def seal(self, endpoint_id: str, secret: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), endpoint_id.encode())
        return _VERSION + base64.b64encode(nonce + sealed).decode()

    def open(self, endpoint_id: str, stored: str) -> str:
        raw = base64.b64decode(stored.removeprefix(_VERSION))
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, sealed, endpoint_id.encode()).decode()
