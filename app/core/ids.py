"""Opaque, prefixed identifiers in Stripe's style (`card_…`, `in_…`)."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
# Random bytes below this bound map evenly onto the alphabet (248 = 4 x 62); the rest are
# drawn again. One read of the system's randomness per id, rather than one per character.
_EVEN_BOUND = 256 - 256 % len(_ALPHABET)


def new_id(prefix: str, length: int = 24) -> str:
    chars: list[str] = []
    while len(chars) < length:
        chars.extend(
            _ALPHABET[byte % len(_ALPHABET)]
            for byte in secrets.token_bytes(length + 8)
            if byte < _EVEN_BOUND
        )
    return f"{prefix}_" + "".join(chars[:length])
