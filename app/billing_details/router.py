"""HTTP for billing details: the account's default and a project's override."""

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
from app.core.routing import BillingRouter
from app.core.runtime import ClockDep
from app.payments.dependencies import ProviderDep
from app.payments.errors import PROVIDER_ERRORS
from app.projects.errors import ProjectNotFound

router = BillingRouter(prefix="/v1/billing-details", tags=["billing details"])
project_router = BillingRouter(prefix="/v1/projects", tags=["billing details"])


@router.get(
    "",
    responses=error_responses(*AUTH_ERRORS),
)
async def get_billing_details(session: SessionDep, account_id: CurrentAccount) -> BillingDetails:
    """Get the account's billing details

    Always 200: before they are set, every field is null and `is_complete` false.
    """
    return await service.get_account_details(session, account_id)


@router.put(
    "",
    responses=error_responses(*AUTH_ERRORS, *PROVIDER_ERRORS),
)
async def replace_billing_details(
    body: BillingDetailsInput,
    session: SessionDep,
    account_id: CurrentAccount,
    provider: ProviderDep,
    clock: ClockDep,
) -> BillingDetails:
    """Replace the account's billing details

    Replaces every field (a field left out is cleared) and updates the payment provider's
    customer. The mandatory fields are listed on `BillingDetailsInput`; a 422 names every bad
    field.
    """
    return await service.replace_account_details(session, provider, account_id, body, clock.now())


@router.patch(
    "",
    responses=error_responses(*AUTH_ERRORS, *PROVIDER_ERRORS),
)
async def update_billing_details(
    body: BillingDetailsPatch,
    session: SessionDep,
    account_id: CurrentAccount,
    provider: ProviderDep,
    clock: ClockDep,
) -> BillingDetails:
    """Update some of the account's billing details

    A JSON merge patch (RFC 7386): fields sent replace, `null` clears, `address` merges field by
    field. The result must be valid as a whole (the mandatory fields are listed on
    `BillingDetailsInput`), else nothing changes; a 422 names every bad field.
    """
    return await service.update_account_details(session, provider, account_id, body, clock.now())


@project_router.get(
    "/{project_id}/billing-details",
    responses=error_responses(*AUTH_ERRORS, ProjectNotFound),
)
async def get_project_billing_details(
    project_id: str, session: SessionDep, account_id: CurrentAccount
) -> ProjectBillingDetails:
    """Get the billing details that apply to a project

    The project's own details if it overrides the account's (`source: project`), else the
    account's (`source: account`).
    """
    return await service.get_project_details(session, account_id, project_id)


@project_router.put(
    "/{project_id}/billing-details",
    responses=error_responses(*AUTH_ERRORS, ProjectNotFound),
)
async def replace_project_billing_details(
    project_id: str,
    body: BillingDetailsInput,
    session: SessionDep,
    account_id: CurrentAccount,
    clock: ClockDep,
) -> ProjectBillingDetails:
    """Override the billing details for a project

    The project's invoices are issued to these details instead of the account's. Not sent to
    the payment provider. The mandatory fields are listed on `BillingDetailsInput`; a 422 names
    every bad field.
    """
    return await service.replace_project_details(session, account_id, project_id, body, clock.now())


@project_router.delete(
    "/{project_id}/billing-details",
    responses=error_responses(*AUTH_ERRORS, ProjectNotFound),
)
async def delete_project_billing_details(
    project_id: str, session: SessionDep, account_id: CurrentAccount
) -> ProjectBillingDetails:
    """Remove a project's billing details override

    The account's details apply to the project again. Idempotent.
    """
    return await service.delete_project_details(session, account_id, project_id)
