"""docs/configuration.md lists every setting with the default the code really has."""

from __future__ import annotations

import re

import pytest

from infra.settings import Settings
from tests.processes import REPO_ROOT

_ROW = re.compile(r"^\| `([A-Z0-9_]+)` \| (`[^`]*`|unset) \|", re.MULTILINE)


def _documented_defaults() -> dict[str, str]:
    text = (REPO_ROOT / "docs" / "configuration.md").read_text()
    settings_section = text.split("## compose.yaml variables")[0]
    return {name: cell.strip("`") for name, cell in _ROW.findall(settings_section)}


def test_every_setting_is_documented() -> None:
    documented = _documented_defaults()
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - set(documented) == set(), "add these to docs/configuration.md"
    assert set(documented) - fields == set(), "these are documented but not settings"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_documented_default_is_the_real_one(field: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The doc's default, read by Settings itself, must equal the field's default.
    documented = _documented_defaults()[field.upper()]
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    default = getattr(Settings(_env_file=None), field)
    if documented == "unset":
        assert default is None
        return
    monkeypatch.setenv(field.upper(), documented)
    assert getattr(Settings(_env_file=None), field) == default
