"""Stripe's test cards, as the offline sandbox provider plays them.

The behaviours follow Stripe's testing documentation: some numbers are declined when the card
is added, others are added fine and fail when charged. Brand ranges are the card networks'
published IIN prefixes; no library here covers them, and the table is short.
"""

from dataclasses import dataclass
from enum import StrEnum

from stdnum import luhn


class Authentication(StrEnum):
    """When the card's bank asks the cardholder to authenticate (3-D Secure)."""

    # When the card is saved; its off-session charges then go through, unless it was
    # attached without an authenticated setup intent.
    ON_SETUP = "on_setup"
    # When the card is saved and on every charge.
    ALWAYS = "always"


@dataclass(frozen=True, slots=True)
class TestCardBehaviour:
    # Decline code when the card is attached to a customer (added); None: accepted.
    attach_decline_code: str | None = None
    # Decline code for every charge of the card; None: charges succeed.
    charge_decline_code: str | None = None
    authentication: Authentication | None = None


BEHAVIOURS: dict[str, TestCardBehaviour] = {
    "4000000000000002": TestCardBehaviour(attach_decline_code="card_declined"),
    "4000000000000069": TestCardBehaviour(attach_decline_code="expired_card"),
    "4000000000000127": TestCardBehaviour(attach_decline_code="incorrect_cvc"),
    "4100000000000019": TestCardBehaviour(attach_decline_code="fraudulent"),
    "4000000000009987": TestCardBehaviour(attach_decline_code="lost_card"),
    "4000000000009979": TestCardBehaviour(attach_decline_code="stolen_card"),
    "4000000000000119": TestCardBehaviour(attach_decline_code="processing_error"),
    "4000000000000341": TestCardBehaviour(charge_decline_code="card_declined"),
    "4000000000009995": TestCardBehaviour(charge_decline_code="insufficient_funds"),
    "4000002500003155": TestCardBehaviour(authentication=Authentication.ON_SETUP),
    "4000002760003184": TestCardBehaviour(authentication=Authentication.ALWAYS),
}

# Stripe's named PaymentMethod test tokens and the card each stands for.
NAMED_TOKENS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_mastercard_debit": "5200828282828210",
    "pm_card_mastercard_prepaid": "5105105105105100",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_diners": "3056930009020004",
    "pm_card_jcb": "3566002020360505",
    "pm_card_unionpay": "6200000000000005",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedFraudulent": "4100000000000019",
    "pm_card_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_authenticationRequired": "4000002760003184",
}

# (brand, prefixes as (low, high) inclusive ranges over the number's first digits)
_BRANDS: list[tuple[str, list[tuple[str, str]]]] = [
    ("amex", [("34", "34"), ("37", "37")]),
    ("diners", [("300", "305"), ("36", "36"), ("38", "39")]),
    ("jcb", [("3528", "3589")]),
    ("discover", [("6011", "6011"), ("644", "649"), ("65", "65")]),
    ("unionpay", [("62", "62")]),
    ("mastercard", [("51", "55"), ("2221", "2720")]),
    ("visa", [("4", "4")]),
]


def brand_of(number: str) -> str:
    for brand, ranges in _BRANDS:
        for low, high in ranges:
            head = number[: len(low)]
            if low <= head <= high:
                return brand
    return "unknown"


def is_valid_number(number: str) -> bool:
    return number.isdigit() and 12 <= len(number) <= 19 and luhn.is_valid(number)


def cvc_length(brand: str) -> int:
    return 4 if brand == "amex" else 3


def behaviour_of(number: str) -> TestCardBehaviour:
    return BEHAVIOURS.get(number, TestCardBehaviour())
