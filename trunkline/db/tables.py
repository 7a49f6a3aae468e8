"""Table definitions (SQLAlchemy Core). Money columns hold integers of 10⁻⁵."""

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Money = BigInteger


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None:
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _org_id() -> Column:
    return Column("org_id", BigInteger, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False)


organizations = Table(
    "organizations",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("is_operator", Boolean, nullable=False, default=False),
    Column("rate_limit_get", Integer),
    Column("rate_limit_other", Integer),
    Column("created_at", UTCDateTime(), nullable=False),
    # Bumped by every write to the organization's call rates: the deck cache compares
    # it (one primary-key read) instead of scanning a deck of 300,000 rates per request.
    Column("deck_version", BigInteger, nullable=False, server_default="0"),
)

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="SET NULL")),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("hint", String(16), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("allowed_ips", JSON, nullable=False),
    Column("expires_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Rate plans: `sell` plans price customers' calls, `buy` plans are what vendors charge. Every
# organization has a default plan whose id is the organization's own id, so a request that
# names no plan finds it without a lookup. `periods`: the time-of-day windows (rating.Window),
# [] for a plan priced the same at any time.
rate_plans = Table(
    "rate_plans",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("service", String(8), nullable=False, server_default="voice"),  # voice: per-minute rates; sms: per-segment
    Column("timezone", String(64), nullable=False),
    Column("periods", JSON, nullable=False),
    Column("description", String(1024)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("org_id", "name", name="uq_rate_plans_org_name"),
)

# Terminating carriers: each charges by a `buy` plan; `gateways` are the names the switches give
# the routes to it (FreeSWITCH's sip_gateway_name, the trunk of Asterisk's dstchannel).
vendors = Table(
    "vendors",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("name", String(200), nullable=False),
    Column("rate_plan_id", BigInteger, ForeignKey("rate_plans.id"), nullable=False),
    Column("gateways", JSON, nullable=False),
    Column("description", String(1024)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("org_id", "name", name="uq_vendors_org_name"),
)

EVER = datetime(1970, 1, 1, tzinfo=UTC)  # effective_from of a rate in force from the beginning

# A rate is in force in its plan from effective_from (EVER: from the beginning) up to
# effective_to (None: not ended), in one period ("": every period). Versions of one prefix and
# period never overlap; effective_to is kept by the writes (see call_rates.versions).
call_rates = Table(
    "call_rates",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("plan_id", BigInteger, ForeignKey("rate_plans.id", ondelete="CASCADE"), nullable=False),
    Column("prefix", String(64), nullable=False),
    Column("period", String(32), nullable=False, server_default=""),
    Column("effective_from", UTCDateTime(), nullable=False, server_default="1970-01-01 00:00:00"),
    Column("effective_to", UTCDateTime()),
    Column("type", String(16), nullable=False),
    Column("free_seconds", Integer, nullable=False),
    Column("grace_period", Integer, nullable=False),
    Column("interval_1", Integer, nullable=False),
    Column("interval_n", Integer, nullable=False),
    Column("connect_fee", Money, nullable=False),
    Column("postcall_surcharge", Money, nullable=False),
    Column("price_1", Money, nullable=False),
    Column("price_n", Money, nullable=False),
    Column("description", String(1024)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("plan_id", "prefix", "period", "effective_from", name="uq_call_rates_plan_prefix"),
    Index("ix_call_rates_plan_id", "plan_id", "id"),  # a page in the default order walks it: no sort of the whole deck
)

request_log = Table(
    "request_log",
    metadata,
    Column("guid", String(36), primary_key=True),
    Column("org_id", BigInteger),
    Column("token_id", BigInteger),
    Column("method", String(10), nullable=False),
    Column("path", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("error_code", String(64)),
    Column("client_ip", String(64)),
    Column("latency_ms", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_request_log_created_at", "created_at"),
)

calls = Table(
    "calls",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("call_id", String(128), nullable=False),
    Column("account_id", String(64)),
    # The accounts row this call was charged to: set on ingest when account_id named one of the
    # organization's accounts, so re-rating adjusts exactly the accounts that paid (no foreign key:
    # calls outlive accounts, and bulk inserts skip the check).
    Column("account_ref", BigInteger),
    Column("caller", String(64)),
    Column("callee", String(64), nullable=False),
    Column("start_at", UTCDateTime(), nullable=False),
    Column("answer_at", UTCDateTime()),
    Column("end_at", UTCDateTime()),
    Column("duration", Integer, nullable=False),
    Column("billsec", Integer, nullable=False),
    Column("disposition", String(32)),
    Column("hangup_cause", String(64)),
    Column("direction", String(16)),
    Column("rated", Boolean, nullable=False),
    Column("unrated_reason", String(32)),
    Column("cost", Money),
    Column("rate_id", BigInteger),
    Column("prefix", String(64)),
    Column("rate_type", String(16)),
    Column("breakdown", JSON),  # the rate's pricing terms, [free_seconds, …, price_n] (deck_cache.TERMS)
    Column("rate_plan_id", BigInteger),  # the plan that priced it, and the period at its start
    Column("period", String(32)),
    # The terminating carrier: the gateway or trunk the call left through, the vendor it maps
    # to, and what the vendor's buy plan charges for it (cost is what the customer pays).
    Column("gateway", String(128)),
    Column("vendor_id", BigInteger),
    Column("vendor_cost", Money),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("rated_at", UTCDateTime(), nullable=False),
    # Both legs of a bridged call are stored when a switch sends them, linked by linked_id (the
    # A-leg's id, Asterisk's linkedid); the endpoint bills one (billed), the other is kept out
    # of totals, charges and re-rating.
    Column("leg", String(1)),
    Column("linked_id", String(128)),
    Column("billed", Boolean, nullable=False, server_default=true()),
    UniqueConstraint("org_id", "call_id", name="uq_calls_org_call_id"),
    Index("ix_calls_org_start", "org_id", "start_at"),
    Index("ix_calls_org_account_start", "org_id", "account_id", "start_at"),
    # An invoice reads the calls charged to one account in a month; calls charged to nobody stay out of it.
    Index("ix_calls_account_ref_start", "account_ref", "start_at", sqlite_where=text("account_ref IS NOT NULL"), postgresql_where=text("account_ref IS NOT NULL")),
)


# Daily totals, kept in step with `calls` on every write, so call-data reports read a few
# thousand rows instead of scanning millions of calls: one table per pair of dimensions.
# SQLite keeps their rows in the key's own b-tree (WITHOUT ROWID): one b-tree per upsert and
# per report, not two.
def _rollup(name: str, *key: Column) -> Table:
    sums = [Column(column, BigInteger, nullable=False) for column in ("calls", "answered", "unrated", "billsec", "cost")]
    names = ["org_id", "day", *(column.name for column in key)]
    primary_key = PrimaryKeyConstraint(*names, name=f"pk_{name}")
    return Table(name, metadata, _org_id(), Column("day", Date, nullable=False), *key, *sums, primary_key, sqlite_with_rowid=False)


# Over all prefixes: reports not grouped by prefix read a few thousand rows a month.
call_totals_by_account = _rollup(
    "call_totals_by_account", Column("account_id", String(64), nullable=False), Column("rate_type", String(16), nullable=False)
)
# Over all accounts: reports grouped by prefix but not by account.
call_totals_by_prefix = _rollup(
    "call_totals_by_prefix", Column("rate_type", String(16), nullable=False), Column("prefix", String(64), nullable=False)
)

# Endpoint credentials: a login and password per endpoint object, for the
# endpoint APIs only. The password is random and long, so SHA-256 is the right hash.
endpoints = Table(
    "endpoints",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("name", String(200), nullable=False),
    Column("type", String(32), nullable=False),
    Column("login", String(64), nullable=False, unique=True),
    Column("password_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("rotated_at", UTCDateTime(), nullable=False),
    # How the endpoint's CDRs are read and billed: the zone of local timestamps (IANA), which
    # legs are billed ("a", "b" or "both"), and pushes per minute (None: the server default).
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("billed_leg", String(4), nullable=False, server_default="a"),
    Column("push_limit", Integer),
)

# Switch CDRs that could not be read, kept byte for byte (`body`, sent as `media_type`) with
# the error, until the endpoint's settings are fixed and they are processed again. `digest`
# keeps a re-sent record from being held twice.
cdr_quarantine = Table(
    "cdr_quarantine",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("endpoint_id", BigInteger),
    Column("media_type", String(100), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("error", String(1000), nullable=False),
    Column("line", Integer),
    Column("status", String(16), nullable=False),
    Column("call_ids", JSON),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("processed_at", UTCDateTime()),
    UniqueConstraint("org_id", "digest", name="uq_cdr_quarantine_org_digest"),
    Index("ix_cdr_quarantine_org_status", "org_id", "status", "id"),
)

organization_products = Table(
    "organization_products",
    metadata,
    _org_id(),
    Column("code", String(8), nullable=False),
    Column("enabled_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "code", name="pk_organization_products"),
)

call_requests = Table(
    "call_requests",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("account_id", String(64), nullable=False),
    Column("callee", String(64), nullable=False),
    Column("whisper_text", String(1000), nullable=False),
    Column("status", String(16), nullable=False),
    Column("dialer", String(32), nullable=False),
    Column("detail", String(500)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Customer accounts, matched to calls by the operator's code (`account_id`). Money in units.
accounts = Table(
    "accounts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("account_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("type", String(16), nullable=False),
    Column("balance", Money, nullable=False),
    Column("credit_limit", Money, nullable=False),
    Column("rate_plan_id", BigInteger, ForeignKey("rate_plans.id")),  # None: the organization's default plan
    Column("sms_rate_plan_id", BigInteger, ForeignKey("rate_plans.id")),  # None: its messages are not priced
    Column("timezone", String(64), nullable=False, server_default="UTC"),  # IANA: where its invoices' months begin and end
    Column("tax_rate", Money, nullable=False, server_default="0"),  # a fraction in units: 20000 = 0.2 = 20 %
    Column("low_balance", Money),  # account.balance_low fires when a charge crosses it downwards
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("org_id", "account_id", name="uq_accounts_org_account_id"),
)

# Every change of an account's balance: top-ups and adjustments, one row per account per ingest
# batch (`calls`: how many calls, `call_ref` when it was one) and per re-rating run.
account_transactions = Table(
    "account_transactions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("account_ref", BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", Money, nullable=False),
    Column("balance_after", Money, nullable=False),
    Column("calls", Integer),
    Column("call_ref", BigInteger),
    Column("note", String(500)),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_account_transactions_account", "account_ref", "id"),
    Index("ix_account_transactions_kind", "account_ref", "kind", "created_at"),  # an invoice's credits, and all of them
)

# Issued invoices, never changed: one per account per month (`period_start`..`period_end`, the
# account's `timezone` then; `starts_at`..`ends_at` the same instants in UTC), numbered 1, 2, 3 …
# per organization. `covered`: the cost, as issued, of every call of the account started before
# `ends_at`; the next invoice's adjustment is what that cost has become since (re-rating, late
# CDRs, months skipped). Money in units; `tax_rate` a fraction in units.
invoices = Table(
    "invoices",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("number", Integer, nullable=False),
    Column("issuer", String(200), nullable=False),  # the organization's name then
    Column("account_ref", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("account_code", String(64), nullable=False),
    Column("account_name", String(200), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("tax_rate", Money, nullable=False),
    Column("status", String(16), nullable=False),
    Column("calls", BigInteger, nullable=False),
    Column("seconds", BigInteger, nullable=False),
    Column("unrated_calls", BigInteger, nullable=False),
    Column("usage", Money, nullable=False),
    Column("adjustment", Money, nullable=False),
    Column("subtotal", Money, nullable=False),
    Column("tax", Money, nullable=False),
    Column("total", Money, nullable=False),
    Column("credits", Money, nullable=False),
    Column("covered", Money, nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    UniqueConstraint("org_id", "number", name="uq_invoices_org_number"),
    UniqueConstraint("account_ref", "period_start", name="uq_invoices_account_period"),
)

# An invoice's lines in order: `usage` per destination (calls, billed seconds, cost), one
# `adjustment`, then `credit` per top-up or adjustment of the ledger in the month.
invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("invoice_id", BigInteger, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("description", String(1024), nullable=False),
    Column("prefix", String(64)),
    Column("calls", BigInteger),
    Column("seconds", BigInteger),
    Column("amount", Money, nullable=False),
    PrimaryKeyConstraint("invoice_id", "position", name="pk_invoice_lines"),
)

# Re-rating runs as a job in committed chunks: `after_id` is the last call re-rated, advanced in
# the same transaction as the chunk, so a job resumes exactly where it stopped (any worker may
# run the next chunk: it reads `after_id` under the organization's exclusive turn).
rerate_jobs = Table(
    "rerate_jobs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("account_id", String(64)),
    Column("status", String(16), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("after_id", BigInteger, nullable=False),
    Column("calls", BigInteger, nullable=False),
    Column("changed", BigInteger, nullable=False),
    Column("cost_before", Money, nullable=False),
    Column("cost_after", Money, nullable=False),
    Column("error", String(500)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Index("ix_rerate_jobs_org_status", "org_id", "status"),
)

# Which process holds which snowflake worker id, until when (see workers.repository).
worker_leases = Table(
    "worker_leases",
    metadata,
    Column("worker_id", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(32), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

# --- SMSC connections and SMS routes (trunkline.smsc) ------------------------------------

# An SMPP 3.4 account at an SMSC, used as an ESME. The password is kept sealed with the server key
# (kit.secretbox), because the session must send it again at every bind; the API never shows it.
# source_ton/source_npi null: follow the form of each message's sender (smsc.addresses).
smsc_connections = Table(
    "smsc_connections",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("name", String(200), nullable=False),
    Column("host", String(253), nullable=False),
    Column("port", Integer, nullable=False),
    Column("system_id", String(15), nullable=False),
    Column("password_sealed", Text, nullable=False),
    Column("system_type", String(12), nullable=False),
    Column("bind_mode", String(32), nullable=False),
    Column("messages_per_second", Integer, nullable=False),
    Column("window_size", Integer, nullable=False),
    Column("source_ton", Integer),
    Column("source_npi", Integer),
    Column("dest_ton", Integer, nullable=False),
    Column("dest_npi", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("org_id", "name", name="uq_smsc_connections_org_name"),
)

# Which connection carries a product's messages to a destination prefix (product null: every
# product; prefix "": every number). A connection that routes name cannot be deleted.
sms_routes = Table(
    "sms_routes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("product", String(8)),
    Column("prefix", String(32), nullable=False),
    Column("connection_id", BigInteger, ForeignKey("smsc_connections.id"), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_sms_routes_org_prefix", "org_id", "prefix"),
    Index("ix_sms_routes_connection_id", "connection_id"),
)

# --- webhooks (trunkline.webhooks) -------------------------------------------------------

# Subscriptions. `event_types`: types and `group.*` / `*` patterns. `secret` is the Standard
# Webhooks signing secret sealed with the server key (kit.secretbox); after a rotation
# `previous_secret` signs beside it until `previous_until`. `last_success_at` tells a receiver
# that fails one event from one that is down (webhooks.outbox disables only the latter).
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("url", String(2048), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("description", String(1024)),
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text),
    Column("previous_until", UTCDateTime()),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(500)),
    Column("last_success_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_webhooks_org_id", "org_id"),
)

# The outbox: an event is written in the transaction of the change it reports, with one delivery
# per subscribed webhook. `body` is the JSON sent, the same bytes on every attempt.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("type", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_webhook_events_created_at", "created_at"),
)

# A delivery is `pending` until an attempt succeeds or the retries run out (`succeeded`,
# `failed`). While pending, `next_attempt_at` is when it is due; a dispatcher claims it by moving
# that to the end of its claim and counting the attempt, so a claim a dead worker held lapses
# and the delivery is due again. Finished deliveries have no `next_attempt_at`, so the due
# index holds only pending ones.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("webhook_id", BigInteger, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", BigInteger, ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime()),
    Column("last_attempt_at", UTCDateTime()),
    Column("last_status_code", Integer),
    Column("last_error", String(500)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Index("ix_webhook_deliveries_due", "next_attempt_at", sqlite_where=text("next_attempt_at IS NOT NULL"), postgresql_where=text("next_attempt_at IS NOT NULL")),
    Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
    Index("ix_webhook_deliveries_event_id", "event_id"),
)

# Every attempt, as the receiver answered it (or why it could not). `webhook_id` is the
# delivery's, kept here so a webhook's attempts list without a join.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("webhook_id", BigInteger, nullable=False),
    Column("delivery_id", BigInteger, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer),
    Column("response", String(500)),
    Column("error", String(500)),
    Column("duration_ms", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_webhook_attempts_webhook", "webhook_id", "id"),
    Index("ix_webhook_attempts_delivery_id", "delivery_id"),
)

# --- messages (trunkline.messages) -------------------------------------------------------

# Messages sent ("out") and received ("in"). `status` is the newest of the message's events;
# `price` was reserved from `account_ref` on accept, and goes back when it ends rejected or
# failed. The dispatcher sends what is due (`next_attempt_at`), claiming it until `claimed_until`.
messages = Table(
    "messages",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("direction", String(3), nullable=False),
    Column("product", String(8), nullable=False),
    Column("sender", String(32), nullable=False),
    Column("recipient", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("sealed_text", Text),  # the text to send, encrypted, while `text` shows it masked (a passcode)
    Column("encoding", String(8), nullable=False),
    Column("segments", Integer, nullable=False),
    Column("client_ref", String(128)),
    Column("callback_url", String(2048)),
    Column("callback_id", BigInteger),  # the webhook that delivers this message's events to callback_url
    Column("account_id", String(64)),
    Column("account_ref", BigInteger),
    Column("rate_plan_id", BigInteger),
    Column("prefix", String(64)),
    Column("price", Money),
    Column("currency", String(3)),
    Column("status", String(16), nullable=False),
    Column("error_code", Integer),
    Column("error", String(500)),
    Column("connection_id", BigInteger),
    Column("attempts", Integer, nullable=False),
    Column("scheduled_at", UTCDateTime()),
    Column("expires_at", UTCDateTime()),
    Column("next_attempt_at", UTCDateTime()),
    Column("claimed_until", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("done_at", UTCDateTime()),
    Index("ix_messages_org_id", "org_id", "id"),
    Index("ix_messages_due", "next_attempt_at", sqlite_where=text("next_attempt_at IS NOT NULL"), postgresql_where=text("next_attempt_at IS NOT NULL")),
)

# Each segment as submitted: the SMSC's id for it (normalised, smsc.receipts) and its receipt's state.
message_parts = Table(
    "message_parts",
    metadata,
    Column("message_id", BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("connection_id", BigInteger, nullable=False),
    Column("smsc_id", String(64), nullable=False),
    Column("smsc_alt_id", String(64)),  # a digits-only id read as hex too (smsc.receipts.alternative_key)
    Column("status", String(16), nullable=False),
    Column("error_code", Integer),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_message_parts_smsc_id", "connection_id", "smsc_id"),
    Index("ix_message_parts_smsc_alt_id", "connection_id", "smsc_alt_id"),
)

# Every state a message went through, with its time and error code.
message_events = Table(
    "message_events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("message_id", BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error_code", Integer),
    Column("detail", String(500)),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_message_events_message_id", "message_id", "id"),
)

# Receipts that arrived before their submit_sm_resp (an SMSC quirk): applied when the id is known.
early_receipts = Table(
    "early_receipts",
    metadata,
    Column("connection_id", BigInteger, primary_key=True, autoincrement=False),
    Column("smsc_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("error_code", Integer),
    Column("received_at", UTCDateTime(), nullable=False),
)

# One-time passcodes sent by SMS. The code is kept only as a keyed digest (kit.secretbox); the
# message carrying it holds it sealed until sent. `status` leaves pending once: approved by the
# right code, failed after `max_attempts` wrong ones, or expired at `expires_at`.
verifications = Table(
    "verifications",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _org_id(),
    Column("recipient", String(32), nullable=False),
    Column("product", String(8), nullable=False),
    Column("sender", String(32), nullable=False),
    Column("account_id", String(64)),
    Column("message_id", BigInteger, ForeignKey("messages.id", ondelete="SET NULL")),
    Column("code_digest", String(64), nullable=False),
    Column("code_length", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("done_at", UTCDateTime()),
    Index("ix_verifications_org_id", "org_id", "id"),
    Index("ix_verifications_pending", "expires_at", sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
)

# Numbers that asked the organization for no more marketing (STOP, UNSUBSCRIBE, …).
opt_outs = Table(
    "opt_outs",
    metadata,
    _org_id(),
    Column("number", String(32), nullable=False),
    Column("keyword", String(32), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "number", name="pk_opt_outs"),
)
