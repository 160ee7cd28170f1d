"""The ASGI application factory."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from app.api_docs import install_api_docs
from app.billing_details.router import project_router as project_billing_details_router
from app.billing_details.router import router as billing_details_router
from app.cards.router import router as cards_router
from app.core.clock import Clock
from app.core.config import ProviderName, Settings, get_settings
from app.core.errors import PROBLEM_JSON, install_error_handlers
from app.core.limits import RequestLimitsMiddleware
from app.core.middleware import RequestMiddleware
from app.core.openapi import document_body_errors
from app.core.outage import install_outage_handlers
from app.events.router import router as events_router
from app.idempotency.middleware import IdempotencyMiddleware
from app.idempotency.openapi import document_idempotency
from app.invoices.router import admin_router as admin_invoices_router
from app.invoices.router import router as invoices_router
from app.ops.router import router as ops_router
from app.payments.provider import ProviderFactory
from app.portal.router import mount_portal
from app.portal.router import router as portal_router
from app.projects.router import admin_router as admin_projects_router
from app.projects.router import router as projects_router
from app.runtime import build_runtime
from app.sandbox.router import router as sandbox_router
from app.webhooks.router import router as webhooks_router

API_DESCRIPTION = """
Account billing for a cloud platform: cards, billing details, projects' invoices and their PDFs.

Authenticate with `Authorization: Bearer <JWT>` (HS256, `sub` = account id). Errors are
RFC 9457 `application/problem+json` with a stable `code`. Lists are keyset-paginated:
pass `next_cursor` back as `cursor`.
"""


class BillingAPI(FastAPI):
    def openapi(self) -> dict[str, Any]:
        """FastAPI's document, with error schemas under the media type actually sent.

        `responses=` models land under application/json; errors are
        application/problem+json, and generated clients pick parsers by that type. Every
        operation that takes a body also lists `invalid_json` and `payload_too_large`.
        """
        schema = super().openapi()
        for operations in schema["paths"].values():
            for operation in operations.values():
                for response in operation.get("responses", {}).values():
                    content = response.get("content", {})
                    if PROBLEM_JSON in content and "application/json" in content:
                        content[PROBLEM_JSON]["schema"] = content.pop("application/json")["schema"]
        document_body_errors(schema)
        document_idempotency(schema)
        return schema


def _operation_id(route: APIRoute) -> str:
    # Route names are unique verbs ("list_cards"), so generated clients get readable methods.
    return route.name


def provider_routers(provider: ProviderName) -> tuple[APIRouter, ...]:
    """The routes only one provider has: elsewhere they are not mounted, so they answer 404."""
    if provider is ProviderName.STRIPE:
        return (webhooks_router,)
    return (sandbox_router,)


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    provider_factory: ProviderFactory | None = None,
) -> FastAPI:
    """The API; `provider_factory` replaces the configured payment provider (tests use it)."""
    runtime = build_runtime(settings or get_settings(), clock, provider_factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # What start-up built (the app, its routes and schemas, the ORM's mappers) lives as
        # long as the process: out of the collector's sight, a full collection no longer walks
        # it, which kept a request waiting tens of milliseconds now and then.
        gc.collect()
        gc.freeze()
        yield
        await runtime.close()

    app = BillingAPI(
        title="Billing API",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        # /docs is served from assets that ship with the project (app/api_docs.py); FastAPI's
        # own pages load Swagger UI and ReDoc from a CDN.
        docs_url=None,
        redoc_url=None,
        # FastAPI's OpenTelemetry hooks ask on every request whether a provider is configured;
        # the service exports Prometheus metrics and logs of its own (app/core/metrics.py).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_api_docs(app, app.openapi_url or "/openapi.json")
    app.state.runtime = runtime
    install_error_handlers(app)
    install_outage_handlers(app)
    for router in (
        cards_router,
        billing_details_router,
        project_billing_details_router,
        projects_router,
        invoices_router,
        admin_projects_router,
        admin_invoices_router,
        events_router,
        portal_router,
        ops_router,
        *provider_routers(runtime.settings.payment_provider),
    ):
        app.include_router(router)
    mount_portal(app)
    # Innermost: a replay is answered with nothing else running, yet with its request id.
    app.add_middleware(IdempotencyMiddleware, runtime=runtime)
    # Just outside it: an oversized body is refused before anything reads it, and its 413
    # still gets the CORS, metrics and request-id treatment.
    app.add_middleware(RequestLimitsMiddleware)
    if runtime.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=runtime.settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Idempotency-Key"],
            expose_headers=[
                "X-Request-ID",
                "Content-Disposition",
                "Idempotent-Replayed",
                "Retry-After",
            ],
            max_age=600,
        )
    # The last one added runs first: every request gets its id and is counted, whatever follows.
    app.add_middleware(RequestMiddleware)
    return app
