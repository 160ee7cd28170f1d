"""Billing details rules: what is mandatory, how each field is checked and normalised, which
details apply to a project, and keeping the provider's customer in step with the account.

Stored details always passed `validate`; a request that would leave them invalid changes
nothing. Changes take the account's row lock, so concurrent writes of one account's details
run one after another (and never race to insert the same row).
"""

from collections.abc import Callable
from datetime import datetime
from functools import cache

import pycountry
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.eu import vat
from stdnum.exceptions import ValidationError

from app.accounts import repository as accounts
from app.accounts.repository import AccountCustomer
from app.accounts.service import ensure_customer
from app.billing_details import repository
from app.billing_details.errors import BillingDetailsIncomplete
from app.billing_details.schemas import (
    PUBLIC_NAMES,
    BillingDetails,
    BillingDetailsInput,
    BillingDetailsPatch,
    BillingSnapshot,
    FlatDetails,
    ProjectBillingDetails,
    Source,
    flat_of,
)
from app.core.errors import FieldProblem, ValidationFailed
from app.events import service as events
from app.events.types import EventType
from app.models import BillingDetails as BillingDetailsModel
from app.payments.provider import CustomerDetails, PaymentProvider
from app.projects.service import get_project

MANDATORY = ("name", "email", "line1", "city", "postal_code", "country")
STATE_REQUIRED = frozenset({"US", "CA", "AU"})
EU_VAT_COUNTRIES = frozenset(code.upper() for code in vat.MEMBER_STATES)
# VAT numbers carry the country's EU prefix, which differs from ISO 3166 only for Greece.
VAT_PREFIXES = {"GR": "EL"}
_FIELD_ORDER = list(PUBLIC_NAMES.values())


def missing_fields(values: FlatDetails) -> list[str]:
    """Mandatory fields without a value, by their dotted names."""
    missing = [PUBLIC_NAMES[field] for field in MANDATORY if not values[field]]
    if (values["country"] or "").upper() in STATE_REQUIRED and not values["state"]:
        missing.append(PUBLIC_NAMES["state"])
    return missing


def _country(value: str | None, problems: list[FieldProblem]) -> str | None:
    if value is None:
        return None
    code = value.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        problems.append(
            FieldProblem(
                field="address.country",
                message="Not an ISO 3166-1 alpha-2 country code.",
                type="invalid",
            )
        )
        return None
    return code


@cache
def _subdivisions(country: str) -> dict[str, str]:
    """A country's subdivision codes (without the country prefix), by case-folded code or name."""
    table: dict[str, str] = {}
    for subdivision in pycountry.subdivisions:
        if subdivision.country_code == country:
            code = subdivision.code.split("-", 1)[1]
            table[code.casefold()] = code
            table[subdivision.name.casefold()] = code
    return table


def _state(country: str | None, value: str | None, problems: list[FieldProblem]) -> str | None:
    if value is None or country not in STATE_REQUIRED:
        return value
    code = _subdivisions(country).get(value.casefold())
    if code is not None:
        return code
    problems.append(
        FieldProblem(
            field="address.state",
            message=f"Not a state, province or territory of {country}: give its code or name.",
            type="invalid",
        )
    )
    return None


def _email(value: str | None, problems: list[FieldProblem]) -> str | None:
    if value is None:
        return None
    try:
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        problems.append(FieldProblem(field="email", message=str(exc), type="invalid"))
        return None


def _vat_id(country: str | None, value: str | None, problems: list[FieldProblem]) -> str | None:
    if value is None or country not in EU_VAT_COUNTRIES:
        return value
    prefix = VAT_PREFIXES.get(country, country)
    try:
        number = vat.compact(value)
    except ValidationError:
        # No EU country prefix at all: reported below as a missing prefix.
        number = ""
    if number.startswith(country) and prefix != country:
        number = prefix + number[len(country) :]
    if not number.startswith(prefix):
        message = f"A VAT number for an address in {country} starts with {prefix}."
    elif not vat.is_valid(number):
        message = f"Not a valid {prefix} VAT number."
    else:
        return str(number)
    problems.append(FieldProblem(field="vat_id", message=message, type="invalid"))
    return None


def validate(raw: FlatDetails) -> CustomerDetails:
    """Check and normalise a full set of details, naming every bad or missing field at once."""
    # Inputs are stripped, so an empty string is a field left blank.
    values = {field: value or None for field, value in raw.items()}
    problems = [
        FieldProblem(field=field, message="This field is required.", type="missing")
        for field in missing_fields(values)
    ]
    email = _email(values["email"], problems)
    country = _country(values["country"], problems)
    state = _state(country, values["state"], problems)
    vat_id = _vat_id(country, values["vat_id"], problems)
    name, line1, city, postal_code = (
        values["name"],
        values["line1"],
        values["city"],
        values["postal_code"],
    )
    if problems or not (name and email and line1 and city and postal_code and country):
        problems.sort(key=lambda problem: _FIELD_ORDER.index(problem.field))
        raise ValidationFailed(problems)
    return CustomerDetails(
        name=name,
        email=email,
        line1=line1,
        line2=values["line2"],
        city=city,
        postal_code=postal_code,
        state=state,
        country=country,
        vat_id=vat_id,
    )


async def _store(
    session: AsyncSession,
    account_id: str,
    project_id: str | None,
    existing: BillingDetailsModel | None,
    details: CustomerDetails,
    preferred_locale: str | None,
    now: datetime,
) -> BillingDetailsModel:
    row = existing or BillingDetailsModel(account_id=account_id, project_id=project_id)
    row.preferred_locale = preferred_locale
    row.name = details.name
    row.email = details.email
    row.line1 = details.line1
    row.line2 = details.line2
    row.city = details.city
    row.postal_code = details.postal_code
    row.state = details.state
    row.country = details.country
    row.vat_id = details.vat_id
    row.updated_at = now
    if existing is None:
        await repository.add(session, row)
    else:
        await repository.save(session)
    return row


async def _sync_customer(
    session: AsyncSession,
    provider: PaymentProvider,
    account: AccountCustomer,
    details: CustomerDetails,
) -> None:
    """Push the account's details to its provider customer.

    Runs after our write inside the same transaction: a provider error rolls our change back.
    """
    customer_id = await ensure_customer(session, provider, account)
    await provider.update_customer(customer_id, details)


def _account_view(row: BillingDetailsModel | None) -> BillingDetails:
    return BillingDetails.build(row, missing_fields(flat_of(row)))


def _source(row: BillingDetailsModel | None) -> Source:
    return "project" if row is not None and row.project_id is not None else "account"


def _effective_view(row: BillingDetailsModel | None) -> ProjectBillingDetails:
    return ProjectBillingDetails.build_effective(row, missing_fields(flat_of(row)), _source(row))


async def _announce_account_details(
    session: AsyncSession, account_id: str, row: BillingDetailsModel, now: datetime
) -> BillingDetails:
    """The account's details as the API shows them, announced in the change's transaction."""
    view = _account_view(row)
    await events.record(session, EventType.BILLING_DETAILS_UPDATED, account_id, view, now)
    return view


async def get_account_details(session: AsyncSession, account_id: str) -> BillingDetails:
    return _account_view(await repository.get_default(session, account_id))


async def replace_account_details(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    body: BillingDetailsInput,
    now: datetime,
) -> BillingDetails:
    values = body.flat()
    return await _save_account_details(session, provider, account_id, lambda _: values, now)


async def update_account_details(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    patch: BillingDetailsPatch,
    now: datetime,
) -> BillingDetails:
    changes = patch.flat_changes()
    return await _save_account_details(
        session, provider, account_id, lambda stored: {**flat_of(stored), **changes}, now
    )


async def _save_account_details(
    session: AsyncSession,
    provider: PaymentProvider,
    account_id: str,
    values_of: Callable[[BillingDetailsModel | None], FlatDetails],
    now: datetime,
) -> BillingDetails:
    """Under the account's lock: the new details (`values_of` what is stored) are checked,
    stored and announced, then synced to the provider's customer."""
    account = await accounts.lock(session, account_id)
    existing = await repository.get_default(session, account_id)
    values = values_of(existing)
    details = validate(values)
    row = await _store(
        session, account_id, None, existing, details, values["preferred_locale"], now
    )
    view = await _announce_account_details(session, account_id, row, now)
    # After the event is written: a provider failure rolls back the change and its event.
    await _sync_customer(session, provider, account, details)
    return view


async def get_project_details(
    session: AsyncSession, account_id: str, project_id: str
) -> ProjectBillingDetails:
    await get_project(session, account_id, project_id)
    return _effective_view(await repository.get_effective(session, account_id, project_id))


async def replace_project_details(
    session: AsyncSession,
    account_id: str,
    project_id: str,
    body: BillingDetailsInput,
    now: datetime,
) -> ProjectBillingDetails:
    """Set the project's override. Not synced: the provider has one customer per account."""
    await accounts.lock(session, account_id)
    await get_project(session, account_id, project_id)
    values = body.flat()
    details = validate(values)
    existing = await repository.get_override(session, account_id, project_id)
    row = await _store(
        session, account_id, project_id, existing, details, values["preferred_locale"], now
    )
    return _effective_view(row)


async def delete_project_details(
    session: AsyncSession, account_id: str, project_id: str
) -> ProjectBillingDetails:
    """Drop the project's override (if any): the account's details apply again."""
    await accounts.lock(session, account_id)
    await get_project(session, account_id, project_id)
    existing = await repository.get_override(session, account_id, project_id)
    if existing is not None:
        await repository.remove(session, existing)
    return _effective_view(await repository.get_effective(session, account_id, project_id))


async def snapshot_for_project(
    session: AsyncSession, account_id: str, project_id: str
) -> BillingSnapshot:
    """The details an invoice of the project is issued to, frozen into it at finalization."""
    row = await repository.get_effective(session, account_id, project_id)
    values = flat_of(row)
    missing = missing_fields(values)
    if missing:
        raise BillingDetailsIncomplete(
            "The billing details that apply to project "
            f"{project_id} are missing: {', '.join(missing)}."
        )
    return BillingSnapshot.of(values, _source(row))
