"""Settings: read from the environment, secrets never printed."""

from __future__ import annotations

import pytest

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


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "-5")
    with pytest.raises(ValueError, match="max_upload_bytes"):
        Settings()
