"""Liveness, readiness and metrics: unauthenticated, for orchestrators and scrapers."""

import asyncio
import logging

from fastapi import Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from sqlalchemy import text

from app.core.errors import ServiceUnavailable
from app.core.metrics import exposition
from app.core.openapi import error_responses
from app.core.routing import BillingRouter
from app.core.runtime import RuntimeDep
from app.events.metrics import measure_queue

router = BillingRouter(tags=["operations"])
logger = logging.getLogger("billing.ops")

READINESS_TIMEOUT_SECONDS = 2.0


class Health(BaseModel):
    status: str


@router.get("/healthz", name="get_health", summary="Liveness: the process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database answers",
    responses=error_responses(ServiceUnavailable),
)
async def get_readiness(runtime: RuntimeDep) -> Health:
    engine = runtime.engine
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        logger.warning("readiness check failed: %s: %s", type(exc).__name__, exc)
        raise ServiceUnavailable("The database is not reachable.") from exc
    return Health(status="ok")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def get_metrics(runtime: RuntimeDep) -> Response:
    try:
        async with (
            asyncio.timeout(READINESS_TIMEOUT_SECONDS),
            runtime.sessionmaker() as session,
            session.begin(),
        ):
            await measure_queue(session, runtime.clock.now())
    except Exception as exc:
        # The process's own series still answer; the queue gauges keep their last reading.
        logger.warning("delivery queue not measured: %s: %s", type(exc).__name__, exc)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
