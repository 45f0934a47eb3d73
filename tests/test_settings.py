"""Settings: read from the environment, secrets never printed."""

from __future__ import annotations

import pytest
import uvicorn.config
from pydantic import SecretStr, ValidationError
from yarl import URL

from infra.settings import Settings


def test_secrets_stay_out_of_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2@db:5432/imagequeue")
    monkeypatch.setenv("AMQP_URL", "amqp://app:sw0rdfish@mq:5672/")
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1234")
    settings = Settings()
    assert settings.max_upload_bytes == 1234
    assert settings.database_url.get_secret_value().endswith("@db:5432/imagequeue")
    for text in (repr(settings), str(settings)):
        assert "hunter2" not in text and "sw0rdfish" not in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_UPLOAD_BYTES", "-5"),
        # The `file_size` column and the `limits` query's Int hold no more than 2**31 - 1.
        ("MAX_UPLOAD_BYTES", "3000000000"),
        ("MAX_IMAGE_PIXELS", "2147483648"),
    ],
)
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name.lower()):
        Settings()


@pytest.mark.parametrize(
    ("typed", "level"),
    [("debug", "DEBUG"), ("Info", "INFO"), ("warn", "WARNING"), ("WARNING", "WARNING")],
)
def test_log_levels_are_read_as_people_type_them(typed: str, level: str) -> None:
    settings = Settings(_env_file=None, log_level=typed)

    assert settings.log_level == level
    # The server hands it to uvicorn, whose table has no "warn" (it crashed on start-up).
    assert settings.log_level.lower() in uvicorn.config.LOG_LEVELS


def test_amqp_password_needs_no_encoding_and_replaces_the_urls() -> None:
    settings = Settings(
        _env_file=None,
        amqp_url=SecretStr("amqp://app:old@mq:5672/vhost"),
        amqp_password=SecretStr("pa#ss/w@rd?%"),
    )

    url = URL(settings.amqp_url.get_secret_value())
    assert (url.user, url.password, url.host, url.port) == ("app", "pa#ss/w@rd?%", "mq", 5672)
    assert url.path == "/vhost"


def test_a_refused_url_is_never_echoed_in_the_error() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, database_url=SecretStr("postgresql://u:hunter2#x@db/imagequeue"))

    assert "hunter2" not in str(refused.value)
    assert "database_url" in str(refused.value)
