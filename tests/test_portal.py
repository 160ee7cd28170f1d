"""The portal's server side: its script served from the package, its config, CORS for it.

What the portal does in a browser is tested in tests/browser/.
"""

import httpx
import pytest
from pydantic import SecretStr

from app.core.config import ProviderName
from app.main import create_app


async def test_the_script_is_served_from_the_package(client):
    response = await client.get("/portal/billing-portal.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "customElements.define('billing-portal'" in response.text
    missing = await client.get("/portal/nothing-here.js")
    assert missing.status_code == 404


@pytest.mark.sandbox_only
async def test_sandbox_config_needs_no_token_and_lists_countries(client):
    response = await client.get("/v1/portal/config")
    assert response.status_code == 200
    config = response.json()
    assert config["provider"] == "sandbox"
    assert config["stripe_publishable_key"] is None
    assert config["stripe_js_url"] is None
    assert {"code": "DE", "name": "Germany"} in config["countries"]
    assert {"code": "BO", "name": "Bolivia"} in config["countries"]
    names = [country["name"] for country in config["countries"]]
    assert names == sorted(names)
    assert config["state_required_countries"] == ["AU", "CA", "US"]


async def test_stripe_config_hands_out_the_publishable_key_and_stripe_js(settings, clock):
    stripe_settings = settings.model_copy(
        update={
            "payment_provider": ProviderName.STRIPE,
            "stripe_api_key": SecretStr("sk_test_unused"),
            "stripe_publishable_key": "pk_test_portal",
            "stripe_js_url": "http://127.0.0.1:9/js.stripe.com/v3/",
        }
    )
    app = create_app(stripe_settings, clock)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            config = (await http.get("/v1/portal/config")).json()
    finally:
        await app.state.runtime.close()
    assert config["provider"] == "stripe"
    assert config["stripe_publishable_key"] == "pk_test_portal"
    assert config["stripe_js_url"] == "http://127.0.0.1:9/js.stripe.com/v3/"


async def test_cors_lets_the_portal_send_idempotency_keys(settings, clock):
    adopter = "https://app.adopter.example"
    app = create_app(settings.model_copy(update={"cors_origins": [adopter]}), clock)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            preflight = await http.options(
                "/v1/cards",
                headers={
                    "Origin": adopter,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
                },
            )
            script = await http.get("/portal/billing-portal.js", headers={"Origin": adopter})
    finally:
        await app.state.runtime.close()
    assert preflight.status_code == 200
    assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()
    exposed = script.headers["access-control-expose-headers"].lower()
    assert "idempotent-replayed" in exposed
    assert script.headers["access-control-allow-origin"] == adopter
