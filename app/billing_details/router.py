"""HTTP for billing details: the account's default and a project's override."""

from fastapi import APIRouter

from app.accounts.dependencies import CurrentAccount
from app.billing_details import service
from app.billing_details.schemas import (
    BillingDetails,
    BillingDetailsInput,
    BillingDetailsPatch,
    ProjectBillingDetails,
)
from app.core.auth import AUTH_ERRORS
from app.core.db import SessionDep
from app.core.openapi import error_responses
from app.core.runtime import ClockDep
from app.payments.dependencies import ProviderDep
from app.payments.errors import PROVIDER_ERRORS
from app.projects.errors import ProjectNotFound

router = APIRouter(prefix="/v1/billing-details", tags=["billing details"])
project_router = APIRouter(prefix="/v1/projects", tags=["billing details"])

MANDATORY_NOTE = (
    "Mandatory: `name`, `email`, `address.line1`, `address.city`, `address.postal_code`, "
    "`address.country` (ISO 3166-1 alpha-2), and `address.state` for US, CA and AU. "
    "`vat_id` is optional and checked for EU countries. A 422 names every bad field."
)


@router.get(
    "",
    name="get_billing_details",
    summary="Get the account's billing details",
    description="Always 200: before they are set, every field is null and `is_complete` false.",
    responses=error_responses(*AUTH_ERRORS),
)
async def get_billing_details(session: SessionDep, account_id: CurrentAccount) -> BillingDetails:
    return await service.get_account_details(session, account_id)


@router.put(
    "",
    name="replace_billing_details",
    summary="Replace the account's billing details",
    description=(
        "Replaces every field (a field left out is cleared) and updates the payment "
        f"provider's customer. {MANDATORY_NOTE}"
    ),
    responses=error_responses(*AUTH_ERRORS, *PROVIDER_ERRORS),
)
async def replace_billing_details(
    body: BillingDetailsInput,
    session: SessionDep,
    account_id: CurrentAccount,
    provider: ProviderDep,
    clock: ClockDep,
) -> BillingDetails:
    return await service.replace_account_details(session, provider, account_id, body, clock.now())


@router.patch(
    "",
    name="update_billing_details",
    summary="Update some of the account's billing details",
    description=(
        "A JSON merge patch (RFC 7386): fields sent replace, `null` clears, `address` merges "
        "field by field. The result must be valid as a whole, else nothing changes. "
        f"{MANDATORY_NOTE}"
    ),
    responses=error_responses(*AUTH_ERRORS, *PROVIDER_ERRORS),
)
async def update_billing_details(
    body: BillingDetailsPatch,
    session: SessionDep,
    account_id: CurrentAccount,
    provider: ProviderDep,
    clock: ClockDep,
) -> BillingDetails:
    return await service.update_account_details(session, provider, account_id, body, clock.now())


@project_router.get(
    "/{project_id}/billing-details",
    name="get_project_billing_details",
    summary="Get the billing details that apply to a project",
    description=(
        "The project's own details if it overrides the account's (`source: project`), "
        "else the account's (`source: account`)."
    ),
    responses=error_responses(*AUTH_ERRORS, ProjectNotFound),
)
async def get_project_billing_details(
    project_id: str, session: SessionDep, account_id: CurrentAccount
) -> ProjectBillingDetails:
    return await service.get_project_details(session, account_id, project_id)


@project_router.put(
    "/{project_id}/billing-details",
    name="replace_project_billing_details",
    summary="Override the billing details for a project",
    description=(
        "The project's invoices are issued to these details instead of the account's. "
        f"Not sent to the payment provider. {MANDATORY_NOTE}"
    ),
    responses=error_responses(*AUTH_ERRORS, ProjectNotFound),
)
async def replace_project_billing_details(
    project_id: str,
    body: BillingDetailsInput,
    session: SessionDep,
    account_id: CurrentAccount,
    clock: ClockDep,
) -> ProjectBillingDetails:
    return await service.replace_project_details(session, account_id, project_id, body, clock.now())


@project_router.delete(
    "/{project_id}/billing-details",
    name="delete_project_billing_details",
    summary="Remove a project's billing details override",
    description="The account's details apply to the project again. Idempotent.",
    responses=error_responses(*AUTH_ERRORS, ProjectNotFound),
)
async def delete_project_billing_details(
    project_id: str, session: SessionDep, account_id: CurrentAccount
) -> ProjectBillingDetails:
    return await service.delete_project_details(session, account_id, project_id)
