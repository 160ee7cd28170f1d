from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.core.locales import DEFAULT_LOCALE, locale_tag
from app.core.schemas import InputSchema, Schema, UtcDatetime
from app.models import BillingDetails as BillingDetailsModel

Source = Literal["project", "account"]

# Stored column → the field's dotted name in request and response bodies.
PUBLIC_NAMES: dict[str, str] = {
    "name": "name",
    "email": "email",
    "line1": "address.line1",
    "line2": "address.line2",
    "city": "address.city",
    "postal_code": "address.postal_code",
    "state": "address.state",
    "country": "address.country",
    "vat_id": "vat_id",
    "preferred_locale": "preferred_locale",
}
ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code", "state", "country")

FlatDetails = dict[str, str | None]
# A locale Babel knows, spelled with hyphens; anything else is a 422 naming the field.
LocaleTag = Annotated[str, AfterValidator(locale_tag)]


class AddressInput(InputSchema):
    line1: str | None = Field(default=None, max_length=200, examples=["12 Analytical Row"])
    line2: str | None = Field(default=None, max_length=200, examples=[None])
    city: str | None = Field(default=None, max_length=100, examples=["Berlin"])
    postal_code: str | None = Field(default=None, max_length=20, examples=["10115"])
    state: str | None = Field(
        default=None,
        max_length=100,
        description="Required for US, CA and AU: the subdivision code (`CA`, `NSW`) or name.",
        examples=[None],
    )
    country: str | None = Field(
        default=None,
        description="ISO 3166-1 alpha-2, any case; stored upper case.",
        examples=["DE"],
    )


class BillingDetailsInput(InputSchema):
    """The full billing details; a field left out is cleared.

    Mandatory: `name`, `email`, `address.line1`, `address.city`, `address.postal_code`,
    `address.country` (ISO 3166-1 alpha-2), and `address.state` for US, CA and AU. `vat_id`
    is optional and checked for EU countries. A 422 names every bad field.
    """

    name: str | None = Field(default=None, max_length=200, examples=["Ada Lovelace"])
    email: str | None = Field(default=None, max_length=320, examples=["ada@example.com"])
    address: AddressInput | None = None
    vat_id: str | None = Field(
        default=None,
        max_length=32,
        description="Optional. For EU countries, checked against the address country "
        "(Greece: `EL…`) and stored in compact form.",
        examples=["DE136695976"],
    )
    preferred_locale: LocaleTag | None = Field(
        default=None,
        max_length=35,
        description="BCP 47 language tag (`en`, `fr`, `zh-CN`) for the invoice documents: "
        "their labels, dates and amounts. Optional; `en` when unset.",
        examples=["fr"],
    )

    def flat(self) -> FlatDetails:
        """Every stored field, absent ones as None."""
        address = self.address or AddressInput()
        values: FlatDetails = {
            "name": self.name,
            "email": self.email,
            "vat_id": self.vat_id,
            "preferred_locale": self.preferred_locale,
        }
        values.update({field: getattr(address, field) for field in ADDRESS_FIELDS})
        return values


class BillingDetailsPatch(BillingDetailsInput):
    """A JSON merge patch (RFC 7386): fields sent replace, `null` clears, `address` merges."""

    def flat_changes(self) -> FlatDetails:
        """Only the fields the client sent; `"address": null` clears the whole address."""
        sent: dict[str, Any] = self.model_dump(exclude_unset=True)
        changes: FlatDetails = {
            field: sent[field]
            for field in ("name", "email", "vat_id", "preferred_locale")
            if field in sent
        }
        if "address" in sent:
            address = sent["address"]
            if address is None:
                changes.update(dict.fromkeys(ADDRESS_FIELDS))
            else:
                changes.update(address)
        return changes


class Address(Schema):
    line1: str | None = Field(examples=["12 Analytical Row"])
    line2: str | None = Field(examples=[None])
    city: str | None = Field(examples=["Berlin"])
    postal_code: str | None = Field(examples=["10115"])
    state: str | None = Field(examples=[None])
    country: str | None = Field(examples=["DE"])


class BillingDetails(Schema):
    name: str | None = Field(examples=["Ada Lovelace"])
    email: str | None = Field(examples=["ada@example.com"])
    address: Address
    vat_id: str | None = Field(examples=["DE136695976"])
    preferred_locale: str = Field(
        description="BCP 47 language tag of the invoice documents; `en` unless set.",
        examples=["en"],
    )
    is_complete: bool = Field(description="Whether invoices can be finalized with these details.")
    missing_fields: list[str] = Field(
        description="Mandatory fields still empty, dotted.", examples=[[]]
    )
    updated_at: UtcDatetime | None = Field(description="Null until the details are first set.")

    @classmethod
    def build(cls, row: BillingDetailsModel | None, missing_fields: list[str]) -> "BillingDetails":
        return cls.model_validate(_body(row, missing_fields))


class ProjectBillingDetails(BillingDetails):
    source: Source = Field(
        description="`project` when the project overrides the account's details, else `account`."
    )

    @classmethod
    def build_effective(
        cls, row: BillingDetailsModel | None, missing_fields: list[str], source: Source
    ) -> "ProjectBillingDetails":
        return cls.model_validate({**_body(row, missing_fields), "source": source})


def _body(row: BillingDetailsModel | None, missing_fields: list[str]) -> dict[str, Any]:
    values = flat_of(row)
    return {
        "name": values["name"],
        "email": values["email"],
        "address": {field: values[field] for field in ADDRESS_FIELDS},
        "vat_id": values["vat_id"],
        "preferred_locale": values["preferred_locale"] or DEFAULT_LOCALE,
        "is_complete": not missing_fields,
        "missing_fields": missing_fields,
        "updated_at": row.updated_at if row is not None else None,
    }


def flat_of(row: BillingDetailsModel | None) -> FlatDetails:
    """The stored fields of a row; all None when nothing is set yet."""
    return {field: getattr(row, field) if row is not None else None for field in PUBLIC_NAMES}


class SnapshotAddress(BaseModel):
    model_config = ConfigDict(frozen=True)

    line1: str = Field(examples=["12 Analytical Row"])
    line2: str | None = Field(examples=[None])
    city: str = Field(examples=["Berlin"])
    postal_code: str = Field(examples=["10115"])
    state: str | None = Field(examples=[None])
    country: str = Field(examples=["DE"])


class BillingSnapshot(BaseModel):
    """The billing details an invoice is issued to, frozen into it at finalization.

    Its own type, stored as it is and returned as it is: the invoice, its PDF and the API
    read the same fields, and changing the billing-details responses never changes it.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(examples=["Ada Lovelace"])
    email: str = Field(examples=["ada@example.com"])
    address: SnapshotAddress
    vat_id: str | None = Field(examples=["DE136695976"])
    # Snapshots taken before the field existed read as English, the documents' old language.
    preferred_locale: str = Field(default=DEFAULT_LOCALE, examples=["en"])
    source: Source = Field(description="Whether the project's override or the account's applied.")

    @classmethod
    def of(cls, values: FlatDetails, source: Source) -> "BillingSnapshot":
        """The snapshot of complete details (every mandatory field set)."""
        return cls.model_validate(
            {
                "name": values["name"],
                "email": values["email"],
                "address": {field: values[field] for field in ADDRESS_FIELDS},
                "vat_id": values["vat_id"],
                "preferred_locale": values["preferred_locale"] or DEFAULT_LOCALE,
                "source": source,
            }
        )
