"""Pure pieces of the events domain: signatures, secrets, the retry schedule."""

import time
from datetime import UTC, datetime

import pytest
from cryptography.exceptions import InvalidTag
from standardwebhooks import Webhook

from app.events.secrets import SecretBox, new_signing_secret, signing_key
from app.events.sender import sign
from app.events.service import MAX_ATTEMPTS, RETRY_DELAYS


def test_our_signature_is_the_standard_one():
    secret = new_signing_secret()
    body = b'{"id":"evt_1","type":"card.added"}'
    now = int(time.time())
    ours = sign(secret, "evt_1", now, body)
    theirs = Webhook(secret).sign("evt_1", datetime.fromtimestamp(now, UTC), body.decode())
    assert ours == theirs
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(now), "webhook-signature": ours}
    assert Webhook(secret).verify(body, headers) == {"id": "evt_1", "type": "card.added"}


def test_secrets_are_32_random_bytes_and_unique():
    first, second = new_signing_secret(), new_signing_secret()
    assert first != second
    assert len(signing_key(first)) == 32


def test_a_sealed_secret_opens_with_the_same_key_only():
    secret = new_signing_secret()
    sealed = SecretBox("server-key").seal("we_1", secret)
    assert secret not in sealed
    assert SecretBox("server-key").open("we_1", sealed) == secret
    assert SecretBox("server-key").seal("we_1", secret) != sealed  # a fresh nonce each time
    with pytest.raises(InvalidTag):
        SecretBox("other-key").open("we_1", sealed)


def test_the_retry_schedule_spans_about_27_hours():
    assert MAX_ATTEMPTS == 8
    assert sum(delay.total_seconds() for delay in RETRY_DELAYS) / 3600 == pytest.approx(
        27.6, abs=0.1
    )
