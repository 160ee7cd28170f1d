from pydantic import Field

from app.core.config import ProviderName
from app.core.schemas import Schema


class Country(Schema):
    code: str = Field(description="ISO 3166-1 alpha-2.", examples=["DE"])
    name: str = Field(examples=["Germany"])


class PortalConfig(Schema):
    """What the portal needs before it can show anything: how cards are entered, and the
    choices of the billing-details form."""

    provider: ProviderName = Field(
        description="`sandbox`: the portal takes test card numbers itself; `stripe`: it "
        "loads Stripe.js and mounts Stripe's card element."
    )
    stripe_publishable_key: str | None = Field(
        description="Stripe mode: the key Stripe.js is initialised with "
        "(`BILLING_STRIPE_PUBLISHABLE_KEY`); null in the sandbox or when unset.",
        examples=["pk_test_51H…"],
    )
    stripe_js_url: str | None = Field(
        description="Stripe mode: where Stripe.js is loaded from (`BILLING_STRIPE_JS_URL`).",
        examples=["https://js.stripe.com/v3/"],
    )
    countries: list[Country] = Field(description="The countries an address may be in, by name.")
    state_required_countries: list[str] = Field(
        description="Countries whose addresses need a state.", examples=[["AU", "CA", "US"]]
    )
