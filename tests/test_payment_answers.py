"""Unit tests: Stripe's answers about authentication, read faithfully.

`requires_action` and `authentication_required` are the bank asking for the cardholder, not a
decline; a failed challenge is `authentication_failed`. localstripe answers an off-session
confirmation of a 3-D Secure card with the PaymentIntent in `requires_action`; Stripe raises
`authentication_required` and leaves it `requires_payment_method`. Both must read the same."""

from typing import Any

import pytest
import stripe

from app.payments.provider import PaymentStatus, SetupStatus
from app.payments.stripe.errors import failure_code
from app.payments.stripe.intents import payment_state, setup_intent_info


def intent(**fields: Any) -> stripe.PaymentIntent:
    values = {"id": "pi_1", "object": "payment_intent", "client_secret": "pi_1_secret_x", **fields}
    return stripe.PaymentIntent.construct_from(values, "sk_test")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("authentication_required", "authentication_required"),
        ("payment_intent_authentication_failure", "authentication_failed"),
        ("setup_intent_authentication_failure", "authentication_failed"),
        ("insufficient_funds", "insufficient_funds"),
        ("expired_card", "expired_card"),
        ("stolen_card", "card_declined"),
        ("card_declined", "card_declined"),
        (None, "card_declined"),
    ],
)
def test_failure_codes(raw: str | None, code: str) -> None:
    assert failure_code(raw) == code


class TestPaymentState:
    def test_localstripes_off_session_answer_is_a_challenge(self) -> None:
        state = payment_state(
            intent(status="requires_action", next_action={"type": "use_stripe_sdk"})
        )
        assert (state.status, state.failure_code) == (
            PaymentStatus.REQUIRES_ACTION,
            "authentication_required",
        )
        assert state.client_secret == "pi_1_secret_x"

    def test_stripes_card_put_back_for_the_frontend_is_a_challenge(self) -> None:
        # After `authentication_required`, the service puts the card back on the intent, which
        # then waits for the frontend's confirmation.
        state = payment_state(intent(status="requires_confirmation"))
        assert state.status is PaymentStatus.REQUIRES_ACTION

    def test_a_failed_challenge_is_authentication_failed(self) -> None:
        failed = intent(
            status="requires_payment_method",
            last_payment_error={"code": "payment_intent_authentication_failure"},
        )
        state = payment_state(failed)
        assert (state.status, state.failure_code) == (
            PaymentStatus.FAILED,
            "authentication_failed",
        )

    def test_a_decline_keeps_its_code(self) -> None:
        declined = intent(
            status="requires_payment_method",
            last_payment_error={"code": "card_declined", "decline_code": "insufficient_funds"},
        )
        assert payment_state(declined).failure_code == "insufficient_funds"

    def test_succeeded_and_canceled(self) -> None:
        assert payment_state(intent(status="succeeded")).status is PaymentStatus.SUCCEEDED
        canceled = payment_state(intent(status="canceled"))
        assert (canceled.status, canceled.failure_code) == (PaymentStatus.FAILED, None)


class TestSetupIntentInfo:
    @pytest.mark.parametrize(
        ("status", "ours"),
        [
            ("requires_payment_method", SetupStatus.REQUIRES_PAYMENT_METHOD),
            ("requires_confirmation", SetupStatus.REQUIRES_PAYMENT_METHOD),
            ("requires_action", SetupStatus.REQUIRES_ACTION),
            ("processing", SetupStatus.REQUIRES_ACTION),
            ("succeeded", SetupStatus.SUCCEEDED),
            ("canceled", SetupStatus.CANCELED),
        ],
    )
    def test_statuses(self, status: str, ours: SetupStatus) -> None:
        seti = stripe.SetupIntent.construct_from(
            {"id": "seti_1", "client_secret": "s", "status": status, "customer": "cus_1"}, "sk"
        )
        info = setup_intent_info(seti)
        assert (info.status, info.customer_id, info.last_error) == (ours, "cus_1", None)

    def test_last_setup_error(self) -> None:
        seti = stripe.SetupIntent.construct_from(
            {
                "id": "seti_1",
                "client_secret": "s",
                "status": "requires_payment_method",
                "customer": {"id": "cus_2", "object": "customer"},
                "payment_method": None,
                "last_setup_error": {"code": "setup_intent_authentication_failure"},
            },
            "sk",
        )
        info = setup_intent_info(seti)
        assert (info.customer_id, info.last_error) == ("cus_2", "authentication_failed")
