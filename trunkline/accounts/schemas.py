"""Customer accounts: bodies and output. Calls find their account by the operator's code, `account_id`.

Money has exactly five places, as everywhere. `balance` is read-only: it moves only through
the ledger (top-ups and adjustments, calls charged on ingest, re-rating).
`credit_limit` is how far a postpaid account may go below zero; a prepaid account keeps
the value (it matters again if the account turns postpaid) but never uses it.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, ValidationInfo, field_validator
from sqlalchemy import case

from trunkline.call_rates.schemas import MAX_MONEY, MatchedRate, Money, five_places
from trunkline.db.tables import account_transactions as ledger
from trunkline.db.tables import accounts as table
from trunkline.kit import ids, query
from trunkline.kit.schema import ApiId, Currency, Input, MoneyOut, Output, SignedMoneyIn
from trunkline.rate_plans.schemas import Timezone
from trunkline.rating.money import from_units

DEFAULT_CURRENCY = "USD"


class AccountType(StrEnum):
    prepaid = "prepaid"
    postpaid = "postpaid"


class TransactionKind(StrEnum):
    topup = "topup"  # money paid in (POST /api/accounts/{id}/credit)
    adjustment = "adjustment"  # a correction either way (POST /api/accounts/{id}/credit)
    calls = "calls"  # calls charged on ingest: one entry per account per batch
    rerate = "rerate"  # re-rating moved the cost of calls already charged
    messages = "messages"  # messages' prices reserved on accept: one entry per account per request
    message_refund = "message_refund"  # a message's price given back: it was rejected or failed


class CreditKind(StrEnum):
    topup = "topup"
    adjustment = "adjustment"


Code = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[^/\x00-\x1f\x7f]+$",
        description="The operator's account code, as CDRs carry it in account_id; unique in the organization. "
        "No '/' (the code also names the account in paths: code:<account_id>)",
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
CreditLimit = Annotated[Money, Field(description="How far a postpaid account may go below zero; prepaid accounts ignore it")]
Amount = Annotated[
    SignedMoneyIn,
    Field(ge=-MAX_MONEY, le=MAX_MONEY),
    AfterValidator(five_places),
]
Note = Annotated[str, Field(max_length=500)]
TaxRate = Annotated[Money, Field(le=1, description="A fraction, at most five places: 0.2 = 20 %. Taxes its invoices' subtotal")]
LOW_HELP = "account.balance_low is sent to webhooks when a charge takes the balance from at least this to below it; null: never"
ZONE_HELP = "IANA time zone: its invoices' months begin and end at midnight there"
READ_ONLY = frozenset({"id", "balance"})


class AccountCreate(Input):
    read_only: ClassVar[frozenset[str]] = READ_ONLY

    account_id: Code
    name: Name
    currency: Currency = DEFAULT_CURRENCY
    type: AccountType = AccountType.prepaid
    credit_limit: CreditLimit = Field(default=Decimal(0), json_schema_extra={"default": 0})
    rate_plan_id: ApiId | None = Field(None, description="The sell plan pricing its calls, in its currency; null: the organization's default plan")
    sms_rate_plan_id: ApiId | None = Field(None, description="The sell plan (service sms) pricing its messages, in its currency; null: none")
    timezone: Timezone = Field("UTC", description=ZONE_HELP)
    tax_rate: TaxRate = Field(default=Decimal(0), json_schema_extra={"default": 0})
    low_balance: Amount | None = Field(None, description=LOW_HELP)


class AccountUpdate(Input):
    read_only: ClassVar[frozenset[str]] = READ_ONLY

    account_id: Code | None = None
    name: Name | None = None
    currency: Currency | None = None
    type: AccountType | None = None
    credit_limit: CreditLimit | None = None
    rate_plan_id: ApiId | None = Field(None, description="The sell plan pricing its calls, in its currency; null: the organization's default plan")
    sms_rate_plan_id: ApiId | None = Field(None, description="The sell plan (service sms) pricing its messages, in its currency; null: none")
    timezone: Timezone | None = Field(None, description=ZONE_HELP)
    tax_rate: TaxRate | None = None
    low_balance: Amount | None = Field(None, description=LOW_HELP)


class Account(Output):
    id: ApiId
    account_id: str
    name: str
    currency: str
    type: AccountType
    balance: MoneyOut = Field(description="Negative: owed")
    credit_limit: MoneyOut
    available: MoneyOut = Field(description="What calls may still spend: balance, plus credit_limit when postpaid")
    rate_plan_id: ApiId | None = Field(description="The plan pricing its calls; null: the organization's default plan")
    sms_rate_plan_id: ApiId | None = Field(description="The plan pricing its messages; null: none")
    timezone: str = Field(description=ZONE_HELP)
    tax_rate: MoneyOut = Field(description="A fraction: 0.2 = 20 %")
    low_balance: MoneyOut | None = Field(description=LOW_HELP)
    created_at: datetime
    updated_at: datetime = Field(description="Last change of any field, the balance included")


class Credit(Input):
    kind: CreditKind = CreditKind.topup  # before amount: amount's check reads it
    amount: Amount = Field(description="Added to the balance; negative takes money away (kind adjustment only)")
    note: Note | None = None

    @field_validator("amount")
    @classmethod
    def _signed(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        if amount == 0:
            raise ValueError("must not be 0")
        if amount < 0 and info.data.get("kind") is not CreditKind.adjustment:
            raise ValueError("a topup is positive; send kind=adjustment to take money away")
        return amount


class CreditResult(Output):
    success: bool
    guid: str
    id: ApiId = Field(description="The ledger entry")
    balance: MoneyOut
    available: MoneyOut


class Transaction(Output):
    id: ApiId
    kind: TransactionKind
    amount: MoneyOut = Field(description="Change of the balance: negative for calls charged")
    balance_after: MoneyOut
    calls: int | None = Field(description="calls, rerate: how many calls the entry covers")
    call: ApiId | None = Field(description="The call, when the entry covers exactly one")
    note: str | None
    created_at: datetime


class Authorization(Output):
    success: bool
    guid: str
    authorized: bool
    max_seconds: int = Field(description="Longest call the account can pay for, in billable seconds (capped)")
    reason: str | None = Field(description="Why not: invalid_number, no_matching_prefix or insufficient_balance")
    account_id: str
    currency: str
    number: str
    normalized: str | None
    rate: MatchedRate | None = Field(description="The matched rate")
    balance: MoneyOut
    available: MoneyOut


def available_units(row) -> int:
    """What calls may still spend, in units."""
    return row.balance + (row.credit_limit if row.type == AccountType.postpaid else 0)


def present(row) -> dict:
    """A stored account as the API shows it."""
    return {
        "id": ids.encode(row.id),
        "account_id": row.account_id,
        "name": row.name,
        "currency": row.currency,
        "type": row.type,
        "balance": from_units(row.balance),
        "credit_limit": from_units(row.credit_limit),
        "available": from_units(available_units(row)),
        "rate_plan_id": ids.encode(row.rate_plan_id) if row.rate_plan_id else None,
        "sms_rate_plan_id": ids.encode(row.sms_rate_plan_id) if row.sms_rate_plan_id else None,
        "timezone": row.timezone,
        "tax_rate": from_units(row.tax_rate),
        "low_balance": None if row.low_balance is None else from_units(row.low_balance),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def present_transaction(row) -> dict:
    return {
        "id": ids.encode(row.id),
        "kind": row.kind,
        "amount": from_units(row.amount),
        "balance_after": from_units(row.balance_after),
        "calls": row.calls,
        "call": ids.encode(row.call_ref) if row.call_ref else None,
        "note": row.note,
        "created_at": row.created_at,
    }


c = table.c
FIELDS = query.Fields(
    fields={
        "id": query.Field(c.id, "id"),
        "account_id": query.Field(c.account_id, "str"),
        "name": query.Field(c.name, "str"),
        "currency": query.Field(c.currency, "str"),
        "type": query.Field(c.type, "enum", choices=tuple(AccountType)),
        "balance": query.Field(c.balance, "money"),
        # what a call may spend: the balance, plus the credit limit when postpaid
        "available": query.Field(case((c.type == AccountType.postpaid.value, c.balance + c.credit_limit), else_=c.balance), "money"),
        "credit_limit": query.Field(c.credit_limit, "money"),
        "rate_plan_id": query.Field(c.rate_plan_id, "id"),
        "sms_rate_plan_id": query.Field(c.sms_rate_plan_id, "id"),
        "timezone": query.Field(c.timezone, "str"),
        "tax_rate": query.Field(c.tax_rate, "money"),
        "low_balance": query.Field(c.low_balance, "money"),
        "created_at": query.Field(c.created_at, "datetime"),
        "updated_at": query.Field(c.updated_at, "datetime"),
    },
    search=(c.account_id, c.name),
    default_order=("id",),
)

TRANSACTION_FIELDS = query.Fields(
    fields={
        "id": query.Field(ledger.c.id, "id"),
        "kind": query.Field(ledger.c.kind, "str"),
        "amount": query.Field(ledger.c.amount, "money"),
        "balance_after": query.Field(ledger.c.balance_after, "money"),
        "calls": query.Field(ledger.c.calls, "int"),
        "call": query.Field(ledger.c.call_ref, "id"),
        "note": query.Field(ledger.c.note, "str"),
        "created_at": query.Field(ledger.c.created_at, "datetime"),
    },
    search=(ledger.c.note,),
    default_order=("id desc",),  # a statement: newest first
)
