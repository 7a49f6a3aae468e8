"""Settings, read from `TRUNKLINE_*` environment variables.

The defaults give the embedded mode: a SQLite file in the user's data directory (the same
for the server and every CLI command, wherever they are started) and an in-process rate
limiter. Production sets a PostgreSQL URL and a Redis URL so
that many stateless workers share data and limits.
"""

from pathlib import Path
from typing import Literal

from platformdirs import user_data_path
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from trunkline.kit.clients import networks

# FreeSWITCH originate arguments for rapid-response calls (see voice.freeswitch_esl).
DEFAULT_DIAL_STRING = "{origination_caller_id_number=$account_id}sofia/gateway/default/$callee '&speak(flite|kal|$text)'"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRUNKLINE_", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: user_data_path("trunkline"), description="Where the embedded SQLite database lives")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite file in data_dir"
    )
    redis_url: str | None = Field(default=None, description="Redis for shared rate limits")
    secret_key: str | None = Field(
        default=None,
        description="Fernet key(s), comma-separated (the first encrypts), for secrets kept to be used again (SMSC passwords, "
        "webhook signing secrets); default: secret.key in data_dir, generated on first start. Servers sharing a database share it",
    )
    host: str = "127.0.0.1"
    port: int = 8887
    worker_id: int | None = Field(
        default=None, ge=0, le=1023, description="Snowflake worker id; default derived from the pid"
    )
    rate_limit_get: int = Field(default=1000, ge=1, description="GET requests per minute per org")
    rate_limit_other: int = Field(default=100, ge=1, description="Other requests per minute per org")
    endpoint_push_limit: int = Field(
        default=12_000, ge=1, description="CDR pushes per minute per endpoint, unless the endpoint sets its own"
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest request body on most routes; 413 beyond")
    max_upload_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="Largest body for deck imports, CDR batches and switch pushes; 413 beyond"
    )
    trusted_proxies: str = Field(
        default="", description="Comma-separated proxy addresses or CIDRs whose X-Forwarded-For / Forwarded is believed"
    )
    login_attempts_per_minute: int = Field(
        default=60, ge=1, description="Password checks (Basic auth, OAuth password grant) per minute per client address"
    )
    request_log_days: int = Field(default=14, ge=1)
    sqlite_busy_seconds: float = Field(
        default=10, gt=0, description="How long a SQLite writer waits for the database before the request is 503 with Retry-After"
    )
    token_cache_seconds: float = Field(
        default=2.0, ge=0, description="How long a verified credential is trusted without a DB read"
    )
    telemetry: bool = Field(
        default=False,
        description="FastAPI's native OpenTelemetry traces, metrics and logs, through the OpenTelemetry SDK you configure; "
        "off, a request pays nothing for it",
    )
    argon2_fast: bool = Field(default=False, description="Cheap argon2 parameters (tests only)")
    dialer: Literal["simulator", "freeswitch"] = Field(
        default="simulator", description="Who places rapid-response calls: the built-in simulator or FreeSWITCH"
    )
    dialer_simulator_delay: float = Field(default=0.2, ge=0, description="Simulator: seconds per status step")
    esl_host: str = Field(default="127.0.0.1", description="FreeSWITCH event socket host")
    esl_port: int = Field(default=8021, ge=1, le=65535)
    esl_password: str = Field(default="ClueCon", description="FreeSWITCH event socket password")
    esl_dial_string: str = Field(
        default=DEFAULT_DIAL_STRING, description="originate arguments; $callee, $text, $account_id, $id are filled in"
    )
    esl_timeout: float = Field(default=5.0, gt=0, description="Seconds to wait for the event socket")
    dispatch: bool = Field(
        default=True, description="Send messages and deliver webhooks from `trunkline serve`; false when `trunkline worker` processes do instead"
    )
    webhooks_allow_private: bool = Field(
        default=False,
        description="Let webhook URLs reach loopback, private, link-local and other non-public addresses (receivers on your own network, tests)",
    )
    webhook_timeout: float = Field(default=10.0, gt=0, le=60, description="Seconds a webhook receiver has to answer an attempt")
    webhook_days: int = Field(default=30, ge=1, description="How long finished webhook events, their deliveries and attempts are kept")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        networks(value)  # a bad entry stops the server at start, naming it
        return value

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the driver SQLAlchemy should use."""
        if not self.database_url:
            return f"sqlite:///{(self.data_dir / 'trunkline.sqlite3').resolve()}"
        url = self.database_url
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+psycopg://" + url[len(plain):]
        return url
