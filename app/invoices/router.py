"""HTTP for invoices: the account's views and the platform's (admin) calls."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, Query, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.accounts.dependencies import CurrentAccount, ReadAccount
from app.billing_details.errors import BillingDetailsIncomplete
from app.core.auth import ADMIN_ERRORS, AUTH_ERRORS, AdminScope
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.openapi import error_responses
from app.core.pagination import CursorParam, Limit, paginate
from app.core.reads import LightRow
from app.core.responses import json_response
from app.core.routing import BillingRouter
from app.core.runtime import ClockDep, RuntimeDep, SettingsDep
from app.core.schemas import PLATFORM_ID_PATTERN, InputDatetime
from app.invoices import export, paying, service
from app.invoices.errors import (
    AuthenticationRequired,
    InvoiceNotDraft,
    InvoiceNotFinalized,
    InvoiceNotFound,
    InvoiceNotOpen,
    InvoiceNotPayable,
    InvoiceNotVoidable,
    NoPaymentMethod,
)
from app.invoices.repository import InvoiceFilters
from app.invoices.retry import RetryPolicyDep
from app.invoices.schemas import Invoice, InvoiceCreate, InvoiceList
from app.models import Invoice as InvoiceModel
from app.models import InvoiceStatus
from app.payments.dependencies import ProviderDep
from app.payments.errors import PROVIDER_ERRORS, CardDeclined
from app.projects.errors import ProjectNotFound

router = BillingRouter(prefix="/v1", tags=["invoices"])
admin_router = BillingRouter(prefix="/v1/admin", tags=["admin"])


async def invoice_filters(
    status_: Annotated[
        list[InvoiceStatus] | None,
        Query(alias="status", description="Only these statuses (repeatable)."),
    ] = None,
    created_gte: Annotated[
        InputDatetime | None, Query(description="Created at or after (RFC 3339).")
    ] = None,
    created_lt: Annotated[
        InputDatetime | None, Query(description="Created before (RFC 3339).")
    ] = None,
) -> InvoiceFilters:
    return InvoiceFilters(
        statuses=tuple(status_ or ()), created_gte=created_gte, created_lt=created_lt
    )


Filters = Annotated[InvoiceFilters, Depends(invoice_filters)]
ProjectIdFilter = Annotated[
    str | None, Query(pattern=PLATFORM_ID_PATTERN, description="Only this project's.")
]


def _page(invoices: Sequence[LightRow], limit: int) -> Response:
    page, has_more, next_cursor = paginate(invoices, limit)
    # One validation call for the whole page, one serialization. Rows go in as dicts: read as
    # attributes, each field a row lacks (`next_action`) costs an exception inside pydantic.
    return json_response(InvoiceList.of([row._asdict() for row in page], has_more, next_cursor))


@router.get(
    "/invoices",
    response_model=InvoiceList,
    responses=error_responses(*AUTH_ERRORS),
)
async def list_invoices(
    read: ReadAccount,
    filters: Filters,
    limit: Limit = 20,
    cursor: CursorParam = None,
    project_id: ProjectIdFilter = None,
) -> Response:
    """List the account's invoices

    Newest first, keyset-paginated. Filter by status, project and creation time.
    """
    scoped = InvoiceFilters(
        statuses=filters.statuses,
        project_id=project_id,
        created_gte=filters.created_gte,
        created_lt=filters.created_lt,
    )
    invoices = await service.list_invoices(read.db, read.account_id, scoped, limit, cursor)
    return _page(invoices, limit)


@router.get(
    "/projects/{project_id}/invoices",
    tags=["projects"],
    response_model=InvoiceList,
    responses=error_responses(*AUTH_ERRORS, ProjectNotFound),
)
async def list_project_invoices(
    project_id: str,
    session: SessionDep,
    account_id: CurrentAccount,
    filters: Filters,
    limit: Limit = 20,
    cursor: CursorParam = None,
) -> Response:
    """List one project's invoices

    Newest first, keyset-paginated, with the same filters as the account-wide list.
    """
    invoices = await service.list_project_invoices(
        session, account_id, project_id, filters, limit, cursor
    )
    return _page(invoices, limit)


# The exports come before `/invoices/{invoice_id}`, which would otherwise take "export.csv"
# for an invoice id.
_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "UTF-8 CSV with a byte order mark and a header row: "
        + ", ".join(f"`{column}`" for column in export.COLUMNS)
        + ". Amounts in major units (`19.99`, JPY `1500`, BHD `12.345`); timestamps RFC 3339"
        " UTC, empty when unset. Streamed: every matching invoice, newest first.",
    }
}


def _attachment(filename: str) -> dict[str, str]:
    """The headers of a download: saved as `filename`, not shown."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def _csv_download(body: AsyncIterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        body, media_type="text/csv; charset=utf-8", headers=_attachment(filename)
    )


@router.get(
    "/invoices/export.csv",
    summary="Download the account's invoices as CSV",
    description="Every invoice the list would return with the same filters (no `limit`), "
    "as one CSV file.",
    response_class=StreamingResponse,
    responses={**_CSV_RESPONSE, **error_responses(*AUTH_ERRORS)},
)
async def export_invoices(
    session: SessionDep,
    runtime: RuntimeDep,
    account_id: CurrentAccount,
    filters: Filters,
    project_id: ProjectIdFilter = None,
) -> StreamingResponse:
    scoped = await service.export_filters(
        session, account_id, replace(filters, project_id=project_id), None
    )
    body = await export.export_csv(session, runtime.sessionmaker, account_id, scoped)
    return _csv_download(body, "invoices.csv")


@router.get(
    "/projects/{project_id}/invoices/export.csv",
    tags=["projects"],
    summary="Download one project's invoices as CSV",
    description="Every invoice of the project that the list would return with the same "
    "filters (no `limit`), as one CSV file.",
    response_class=StreamingResponse,
    responses={**_CSV_RESPONSE, **error_responses(*AUTH_ERRORS, ProjectNotFound)},
)
async def export_project_invoices(
    project_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    account_id: CurrentAccount,
    filters: Filters,
) -> StreamingResponse:
    scoped = await service.export_filters(session, account_id, filters, project_id)
    body = await export.export_csv(session, runtime.sessionmaker, account_id, scoped)
    return _csv_download(body, f"invoices-{project_id}.csv")


@router.get(
    "/invoices/{invoice_id}",
    summary="Get an invoice with its lines and payment attempts",
    response_model=Invoice,
    responses=error_responses(*AUTH_ERRORS, InvoiceNotFound),
)
async def get_invoice(invoice_id: str, read: ReadAccount) -> Response:
    detail = await service.get_invoice(read.db, read.account_id, invoice_id)
    return json_response(Invoice.from_rows(detail.invoice, detail.attempts, detail.lines))


def _render_pdf(invoice: InvoiceModel, settings: Settings) -> bytes:
    # The renderer (fpdf2, fontTools, HarfBuzz: ~45 MiB) loads with the first PDF, in this
    # thread, not at startup: a worker that serves no PDF does not carry it.
    from app.invoices.pdf import Seller, render_invoice_pdf

    seller = Seller(
        name=settings.seller_name, address=settings.seller_address, email=settings.seller_email
    )
    return render_invoice_pdf(invoice, seller)


@router.get(
    "/invoices/{invoice_id}/pdf",
    summary="Download an invoice as PDF",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The invoice as a PDF file."},
        **error_responses(*AUTH_ERRORS, InvoiceNotFound, InvoiceNotFinalized),
    },
)
async def get_invoice_pdf(
    invoice_id: str, session: SessionDep, account_id: CurrentAccount, settings: SettingsDep
) -> Response:
    invoice = await service.get_finalized_with_lines(session, account_id, invoice_id)
    # Rendering is CPU work: off the event loop, so other requests keep flowing meanwhile.
    content = await run_in_threadpool(_render_pdf, invoice, settings)
    return Response(
        content, media_type="application/pdf", headers=_attachment(f"{invoice.number}.pdf")
    )


@router.post(
    "/invoices/{invoice_id}/pay",
    responses=error_responses(
        *AUTH_ERRORS,
        CardDeclined,
        AuthenticationRequired,
        InvoiceNotFound,
        InvoiceNotPayable,
        NoPaymentMethod,
        *PROVIDER_ERRORS,
    ),
)
async def pay_invoice(
    invoice_id: str,
    session: SessionDep,
    account_id: CurrentAccount,
    provider: ProviderDep,
    clock: ClockDep,
) -> Invoice:
    """Pay an invoice now with the primary card

    For `payment_due` and `not_paid` invoices. A declined charge answers 402 with the decline
    code; the attempt is recorded on the invoice. When the bank asks the cardholder to
    authenticate (3-D Secure), 402 `authentication_required` carries the challenge in
    `next_action` (the same one while it waits); once passed, the invoice is paid (calling pay
    again finds it so, and never charges twice).
    """
    invoice = await paying.pay_invoice(session, provider, account_id, invoice_id, clock.now())
    return Invoice.build(invoice)


@admin_router.post(
    "/invoices",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(*ADMIN_ERRORS, ProjectNotFound),
)
async def create_invoice(
    body: InvoiceCreate, session: SessionDep, _admin: AdminScope, clock: ClockDep
) -> Invoice:
    """Create a draft invoice for a project

    A draft is `payment_pending` and has no number until it is finalized.
    """
    return Invoice.build(await service.create_invoice(session, body, clock.now()))


@admin_router.post(
    "/invoices/{invoice_id}/finalize",
    responses=error_responses(
        *ADMIN_ERRORS, InvoiceNotFound, InvoiceNotDraft, BillingDetailsIncomplete, *PROVIDER_ERRORS
    ),
)
async def finalize_invoice(
    invoice_id: str,
    session: SessionDep,
    _admin: AdminScope,
    provider: ProviderDep,
    clock: ClockDep,
    policy: RetryPolicyDep,
) -> Invoice:
    """Finalize a draft and charge the primary card

    Assigns the next number and freezes the billing details, then charges the account's primary
    card: the invoice becomes `paid`, or `payment_due` with a retry scheduled.
    """
    invoice = await service.finalize_invoice(session, provider, invoice_id, clock.now(), policy)
    return Invoice.build(invoice)


@admin_router.post(
    "/invoices/{invoice_id}/void",
    responses=error_responses(*ADMIN_ERRORS, InvoiceNotFound, InvoiceNotVoidable, *PROVIDER_ERRORS),
)
async def void_invoice(
    invoice_id: str,
    session: SessionDep,
    _admin: AdminScope,
    provider: ProviderDep,
    clock: ClockDep,
) -> Invoice:
    """Void an invoice

    From `payment_pending`, `payment_due` or `not_paid`. A paid invoice cannot be voided.
    """
    return Invoice.build(await service.void_invoice(session, provider, invoice_id, clock.now()))


@admin_router.post(
    "/invoices/{invoice_id}/mark-uncollectible",
    responses=error_responses(*ADMIN_ERRORS, InvoiceNotFound, InvoiceNotOpen),
)
async def mark_invoice_uncollectible(
    invoice_id: str, session: SessionDep, _admin: AdminScope, clock: ClockDep
) -> Invoice:
    """Mark an invoice as not paid

    For a finalized invoice awaiting payment; it is no longer retried.
    """
    return Invoice.build(await service.mark_uncollectible(session, invoice_id, clock.now()))
