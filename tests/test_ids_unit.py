"""Identifiers: Stripe-style prefixes, a fixed length, every letter and digit equally likely."""

import string
from collections import Counter

from app.core.ids import new_id

ALPHABET = set(string.ascii_letters + string.digits)


def test_an_id_is_its_prefix_then_the_length_asked_for():
    for length in (1, 8, 24, 40):
        prefix, _, body = new_id("card", length).partition("_")
        assert prefix == "card"
        assert len(body) == length
        assert set(body) <= ALPHABET


def test_ids_do_not_repeat():
    assert len({new_id("in") for _ in range(10_000)}) == 10_000


def test_every_character_is_drawn_evenly():
    # 240,000 characters: each of the 62 is expected 3,871 times (standard deviation ~62). A
    # mapping with a modulo bias would give the first 8 characters ~25% more.
    counts = Counter("".join(new_id("x")[2:] for _ in range(10_000)))
    assert set(counts) == ALPHABET
    assert max(counts.values()) < 3_871 * 1.1
    assert min(counts.values()) > 3_871 * 0.9
