"""Typed settings, read once at start-up from the environment (and an optional ``.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.allowed_hosts import HostPattern
from infra.renditions import DEFAULT_PRESETS, RenditionSpec, check_renditions
from infra.service_urls import (
    AMQP_SCHEMES,
    DATABASE_SCHEMES,
    check_service_url,
    with_password,
)

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# What people type besides those: any case, and the standard library's own alias.
_LOG_LEVEL_ALIASES = {"WARN": "WARNING"}


_MAX_INT32 = 2**31 - 1


class Settings(BaseSettings):
    """Every knob of imagequeue; the README's Configuration table lists them with defaults."""

    # hide_input_in_errors: a refused value is never echoed, since it may be a password.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    # SecretStr keeps the password out of reprs, logs and tracebacks.
    database_url: SecretStr = SecretStr("postgresql://postgres@localhost:5432/imagequeue")
    amqp_password: SecretStr | None = None
    """Replaces the password in ``AMQP_URL``, unencoded: how compose passes one that may
    hold characters a URL reserves. Before ``amqp_url``, whose validator reads it."""
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@localhost:5672/")
    storage_dir: Path = Path("./data")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    forwarded_allow_ips: str = "127.0.0.1,::1"
    """Peers whose ``X-Forwarded-For`` names the client, the address the per-address
    WebSocket cap counts by: the reverse proxy's (comma-separated addresses or networks).
    uvicorn's own setting, under its own name."""
    public_url: str | None = None
    """Base URL clients reach the server at; derived from each request when unset."""
    web_dir: Path = Path("./web/dist")
    """The web app's built assets, served at ``/``."""
    allowed_hosts: Annotated[list[HostPattern], Field(min_length=1)] | None = None
    """Names the server answers to in ``Host`` (JSON list); unset: loopback names on a
    loopback bind, any host otherwise. The rule is in infra/allowed_hosts.py."""

    # At most 2**31 - 1: `file_size` is the original design's INTEGER column, and GraphQL's
    # Int (the `limits` query) is 32-bit.
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, gt=0, le=_MAX_INT32)
    max_files_per_request: int = Field(default=20, gt=0)
    max_image_pixels: int = Field(default=50_000_000, gt=0, le=_MAX_INT32)

    worker_concurrency: int = Field(default=2, gt=0)
    job_timeout_s: float = Field(default=60.0, gt=0)
    progress_interval_s: float = Field(default=0.25, ge=0)
    """Stage events of one image at most this often (0: every stage); status changes always."""

    max_attempts: int = Field(default=5, ge=1)
    """Attempts a job gets against transient failures before it is dead-lettered."""
    retry_base_delay_s: float = Field(default=1.0, gt=0)
    retry_max_delay_s: float = Field(default=60.0, gt=0)
    stuck_after_s: float = Field(default=300.0, gt=0)
    """An image in processing this long lost its worker: the sweeper queues it again."""
    stuck_sweep_interval_s: float = Field(default=30.0, gt=0)
    outbox_poll_interval_s: float = Field(default=1.0, gt=0)
    """How often the relay looks for unpublished jobs when nothing wakes it."""
    fault_crash_after_commit: bool = False
    """Test-only fault injection: the worker exits right after recording a result, unacked."""

    thumbnail_max_px: int = Field(default=256, gt=0)
    thumbnail_quality: int = Field(default=85, ge=1, le=95)
    renditions: tuple[RenditionSpec, ...] = DEFAULT_PRESETS
    """Renditions made besides ``thumb`` when an upload does not ask for its own (JSON)."""
    expose_gps_coordinates: bool = False
    """Store and serve where a photo was taken; off, only whether it had GPS is kept."""
    max_animation_frames: int = Field(default=1, ge=1, le=10_000)
    """1: renditions of animated GIF/WebP are stills; above, WebP ones keep this many frames."""

    amqp_connect_timeout_s: float = Field(default=10.0, gt=0)
    amqp_reconnect_interval_s: float = Field(default=1.0, gt=0)

    db_pool_min_size: int = Field(default=1, ge=0)
    db_pool_max_size: int = Field(default=10, gt=0)
    db_timeout_s: float = Field(default=5.0, gt=0)
    migrate_on_start: bool = True

    subscriber_buffer_images: int = Field(default=1000, gt=0)
    """Per subscriber: how many images' latest events may wait before the oldest is dropped."""
    max_subscriptions_per_connection: int = Field(default=100, gt=0)
    max_subscription_ids: int = Field(default=100, gt=0)
    ws_keepalive_interval_s: float = Field(default=15.0, gt=0)
    ws_connection_init_timeout_s: float = Field(default=10.0, gt=0)
    """A GraphQL WebSocket, on either protocol, that sends no ``connection_init`` this long
    after its handshake is closed."""
    max_websockets_per_process: int = Field(default=5000, gt=0)
    """GraphQL WebSockets one server process holds at once; more are closed at the handshake
    with 1013 (try again later). The rule is in server/websocket_limits.py."""
    max_websockets_per_address: int = Field(default=100, gt=0)
    """The same, per client address (an IPv6 client's /64)."""
    allowed_origins: list[str] = []
    """Origins whose pages may open a GraphQL WebSocket or change state through REST (JSON
    list); ``["*"]`` allows any. The rule is in server/origins.py."""

    graphql_max_depth: int = Field(default=10, gt=0)
    graphql_max_tokens: int = Field(default=2000, gt=0)
    graphql_max_aliases: int = Field(default=15, gt=0)

    log_level: LogLevel = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    """``auto``: human-readable on a terminal, one JSON object per line otherwise."""

    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9100, ge=0, le=65535)
    """The worker's ``/metrics`` and ``/readyz`` listener; 0 turns it off."""

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: SecretStr) -> SecretStr:
        check_service_url(value.get_secret_value(), DATABASE_SCHEMES)
        return value

    @field_validator("amqp_url")
    @classmethod
    def _valid_amqp_url(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        url = check_service_url(value.get_secret_value(), AMQP_SCHEMES)
        password: SecretStr | None = info.data.get("amqp_password")
        if password is None:
            return value
        return SecretStr(with_password(url, password.get_secret_value()))

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level_name(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        upper = value.strip().upper()
        return _LOG_LEVEL_ALIASES.get(upper, upper)

    @model_validator(mode="after")
    def _pool_bounds_agree(self) -> Settings:
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError(
                f"DB_POOL_MIN_SIZE ({self.db_pool_min_size}) must not exceed "
                f"DB_POOL_MAX_SIZE ({self.db_pool_max_size})"
            )
        return self

    @field_validator("renditions")
    @classmethod
    def _valid_renditions(cls, value: tuple[RenditionSpec, ...]) -> tuple[RenditionSpec, ...]:
        return check_renditions(value)
