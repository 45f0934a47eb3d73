"""compose.yaml and the Dockerfile, checked without Docker (no engine runs on the dev machines).

What is verified: compose.yaml against the Compose specification's JSON schema (vendored in
check-jsonschema, so offline), and against the code: commands, environment variables, ports,
health checks and start-up order. The Dockerfile's install and entry point against the
Makefile and pyproject.toml. What is not: that the images build or the stack starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from yarl import URL

from cli.main import build_parser
from infra.settings import Settings
from tests.processes import REPO_ROOT
from worker.consumer import HARD_DEADLINE_GRACE_S

COMPOSE = REPO_ROOT / "compose.yaml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
OUR_SERVICES = ("migrate", "server", "worker")
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _with_defaults(value: str) -> str:
    """What compose makes of ``${VAR:-default}`` when VAR is unset."""
    return _VARIABLE.sub(lambda match: match.group(2) or "", value).replace("$$", "$")


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", path],
        capture_output=True,
        text=True,
        timeout=60,
    )


# compose.yaml ------------------------------------------------------------------------------


def test_compose_file_matches_the_compose_specification() -> None:
    result = _validate(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_file(tmp_path: Path) -> None:
    # A condition compose does not know: if this passed, the check above would prove nothing.
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("service_healthy", "healthy", 1))
    assert _validate(broken).returncode != 0


def test_our_services_run_existing_imagequeue_subcommands() -> None:
    parser = build_parser()
    services = _services()
    commands = {name: services[name]["command"] for name in OUR_SERVICES}
    assert commands == {
        "migrate": ["migrate"],
        "server": ["serve", "--host", "0.0.0.0"],
        "worker": ["worker"],
    }
    for command in commands.values():
        parser.parse_args(command)  # exits (fails the test) on an unknown command or flag
    for name in OUR_SERVICES:
        assert services[name]["image"].startswith("imagequeue:")
        assert services[name]["build"] == "."


def test_every_environment_variable_is_a_setting_with_a_valid_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fields = {name.upper() for name in Settings.model_fields}
    for name in OUR_SERVICES:
        environment: dict[str, Any] = _services()[name]["environment"]
        unknown = set(environment) - fields - _LIBPQ_VARIABLES
        assert not unknown, f"{name}: not settings: {unknown}"
        # The defaults compose substitutes must make settings the code accepts.
        for key in fields:
            monkeypatch.delenv(key, raising=False)
        for key, value in environment.items():
            monkeypatch.setenv(key, _with_defaults(str(value)))
        settings = Settings(_env_file=None)
        assert str(settings.storage_dir) == "/data"
        assert settings.log_format == "json"


_LIBPQ_VARIABLES = {"PGPASSWORD"}
"""Not settings: libpq's own, which asyncpg reads when ``DATABASE_URL`` has no password."""


def _environment_with(service: str, **variables: str) -> dict[str, str]:
    """What compose gives ``service`` with ``variables`` set in the shell, the rest unset."""
    environment: dict[str, Any] = _services()[service]["environment"]

    def substitute(match: re.Match[str]) -> str:
        return variables.get(match.group(1), match.group(2) or "")

    return {key: _VARIABLE.sub(substitute, str(value)) for key, value in environment.items()}


# Every character a URL reserves, and a percent sign that would read as an escape.
_AWKWARD_PASSWORD = "s3cr#t/p@ss?w%2Fd:1"


@pytest.mark.parametrize("service", OUR_SERVICES)
def test_passwords_with_characters_a_url_reserves_reach_the_clients_intact(
    monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    # Given passwords that would break a URL they were pasted into
    environment = _environment_with(
        service, POSTGRES_PASSWORD=_AWKWARD_PASSWORD, RABBITMQ_PASSWORD=_AWKWARD_PASSWORD
    )
    for key in {name.upper() for name in Settings.model_fields} | _LIBPQ_VARIABLES:
        monkeypatch.delenv(key, raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)

    # When the process reads its settings (which refuse a URL the clients would misread)
    settings = Settings(_env_file=None)

    # Then the broker URL aio-pika parses holds the password as typed, on the right host
    amqp = URL(settings.amqp_url.get_secret_value())
    assert (amqp.user, amqp.password, amqp.host, amqp.port) == (
        "imagequeue",
        _AWKWARD_PASSWORD,
        "rabbitmq",
        5672,
    )
    # and the database's reaches asyncpg as PGPASSWORD, outside the URL
    database = URL(settings.database_url.get_secret_value())
    assert (database.user, database.password, database.host) == ("imagequeue", None, "db")
    assert environment["PGPASSWORD"] == _AWKWARD_PASSWORD


async def test_asyncpg_takes_the_password_from_pgpassword(monkeypatch: pytest.MonkeyPatch) -> None:
    # The local PostgreSQL trusts every password, so the one asyncpg sends is read from
    # the protocol's password message, with a listener that asks for a clear-text one.
    received: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def ask_for_a_password(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readexactly(int.from_bytes(await reader.readexactly(4), "big") - 4)
        writer.write(b"R" + (8).to_bytes(4, "big") + (3).to_bytes(4, "big"))
        await writer.drain()
        header = await reader.readexactly(5)
        body = await reader.readexactly(int.from_bytes(header[1:], "big") - 4)
        received.set_result(body.rstrip(b"\0"))
        writer.close()

    server = await asyncio.start_server(ask_for_a_password, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("PGPASSWORD", _AWKWARD_PASSWORD)
    async with server:
        with contextlib.suppress(Exception):
            await asyncpg.connect(f"postgresql://imagequeue@127.0.0.1:{port}/x", ssl=False)
    assert received.result().decode() == _AWKWARD_PASSWORD


def test_every_compose_variable_is_documented() -> None:
    documented = (REPO_ROOT / "docs" / "configuration.md").read_text()
    variables = {match.group(1) for match in _VARIABLE.finditer(COMPOSE.read_text())}
    assert variables, "compose.yaml should be configurable from the environment"
    missing = {name for name in variables if f"`{name}`" not in documented}
    assert not missing, f"add to docs/configuration.md: {missing}"


def test_only_the_api_and_the_management_ui_are_published() -> None:
    published = {
        name: service["ports"] for name, service in _services().items() if "ports" in service
    }
    assert set(published) == {"server", "rabbitmq"}
    [api] = published["server"]
    assert _with_defaults(api) == f"{Settings.model_fields['port'].default}:8000"
    assert api.endswith(f":{Settings.model_fields['port'].default}")
    [management] = published["rabbitmq"]
    assert _with_defaults(management) == "127.0.0.1:15672:15672"


def test_health_checks_probe_the_ports_the_code_listens_on() -> None:
    services = _services()
    api_port = Settings.model_fields["port"].default
    metrics_port = Settings.model_fields["worker_metrics_port"].default
    assert f"http://127.0.0.1:{api_port}/readyz" in " ".join(
        services["server"]["healthcheck"]["test"]
    )
    worker = services["worker"]
    assert str(worker["environment"]["WORKER_METRICS_PORT"]) == str(metrics_port)
    assert f"http://127.0.0.1:{metrics_port}/readyz" in " ".join(worker["healthcheck"]["test"])
    # Reachable by Prometheus from other containers, not only from inside the worker.
    assert worker["environment"]["WORKER_METRICS_HOST"] == "0.0.0.0"


def test_every_long_running_service_has_a_health_check_and_waits_for_its_dependencies() -> None:
    services = _services()
    for name, service in services.items():
        if name == "migrate":
            # One-shot: it exits, and the others wait for service_completed_successfully.
            assert service["healthcheck"] == {"disable": True}
            assert service["restart"] == "no"
            continue
        assert service["healthcheck"]["test"], name
    for name in ("server", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "db": {"condition": "service_healthy"},
            "rabbitmq": {"condition": "service_healthy"},
        }
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}


def test_worker_scales_and_shares_image_storage_with_the_server() -> None:
    services = _services()
    worker = services["worker"]
    # --scale needs replicas that do not collide on a name or a host port.
    assert "container_name" not in worker and "ports" not in worker
    assert "images:/data" in worker["volumes"] and "images:/data" in services["server"]["volumes"]
    assert set(_compose()["volumes"]) >= {"pgdata", "images"}


def test_the_worker_stop_grace_period_outlasts_its_drain_and_follows_job_timeout() -> None:
    worker = _services()["worker"]
    # Configurable, since JOB_TIMEOUT_S is: a longer drain needs a longer grace period.
    assert worker["stop_grace_period"].startswith("${WORKER_STOP_GRACE_PERIOD:-")
    # The worker drains jobs for up to JOB_TIMEOUT_S, a job past its time limit is killed
    # HARD_DEADLINE_GRACE_S later, and closing its pool and connections takes a moment.
    grace_s = int(_with_defaults(worker["stop_grace_period"]).removesuffix("s"))
    job_timeout_s = Settings.model_fields["job_timeout_s"].default
    assert grace_s >= job_timeout_s + HARD_DEADLINE_GRACE_S + 10
    documented = (REPO_ROOT / "docs" / "configuration.md").read_text()
    assert "`JOB_TIMEOUT_S` + 15 s" in documented


# Dockerfile --------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _pip_install(words: list[str]) -> tuple[str, set[str]]:
    """(target, extras) of a ``python -m pip install`` command, options dropped."""
    assert words[words.index("-m") + 1 : words.index("install") + 1] == ["pip", "install"]
    [target] = [w for w in words[words.index("install") + 1 :] if not w.startswith("-")]
    base, _, extras = target.partition("[")
    return base, set(filter(None, extras.rstrip("]").split(",")))


def test_the_image_installs_and_starts_the_project_the_way_make_does() -> None:
    # The rule: both install the project at the repository root with pip from pyproject.toml;
    # the Makefile adds only -e and the dev extra (tests, linters), which an image must not
    # carry. Both start processes through the `imagequeue` script pyproject.toml declares.
    makefile = (REPO_ROOT / "Makefile").read_text()
    # The install target's line (`make bench` adds a bench extra of its own on top).
    [make_install] = [
        shlex.split(line.strip())
        for line in makefile.splitlines()
        if "pip install" in line and "--upgrade pip" not in line and "[bench]" not in line
    ]
    instructions = _dockerfile_instructions()
    [docker_install] = [
        shlex.split(args) for op, args in instructions if op == "RUN" and "pip install" in args
    ]
    make_target, make_extras = _pip_install(make_install)
    docker_target, docker_extras = _pip_install(docker_install)
    assert make_target == docker_target == "."
    assert "-e" in make_install and "-e" not in docker_install
    assert docker_extras == make_extras - {"dev"} == set()

    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    [entrypoint] = [args for op, args in instructions if op == "ENTRYPOINT"]
    assert entrypoint == '["imagequeue"]' and "imagequeue" in scripts
    assert "$(BIN)/imagequeue up" in makefile
    [cmd] = [args for op, args in instructions if op == "CMD"]
    build_parser().parse_args(yaml.safe_load(cmd))


def test_the_image_matches_the_python_version_and_runs_as_non_root() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    version = pyproject["tool"]["mypy"]["python_version"]
    assert pyproject["project"]["requires-python"] == f">={version}"
    instructions = _dockerfile_instructions()
    stages = [args for op, args in instructions if op == "FROM"]
    assert stages[-1] == f"python:{version}-slim AS runtime"
    assert any(stage.startswith(f"python:{version}-slim AS build") for stage in stages)
    [user] = [args for op, args in instructions if op == "USER"]
    assert not user.startswith(("0", "root"))


def test_the_web_stage_follows_the_web_app_contract() -> None:
    instructions = _dockerfile_instructions()
    runs = [args for op, args in instructions if op == "RUN"]
    assert "npm ci" in runs and "npm run build" in runs
    copies = [args for op, args in instructions if op == "COPY"]
    assert "--from=web /src/web/dist /app/web/dist" in copies
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "web/node_modules"} <= set(ignored)
