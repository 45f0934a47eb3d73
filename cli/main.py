"""``imagequeue``: one entry point for every process, so containers and ``make`` agree."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from cli.remote import EXIT_INTERRUPTED, FALLBACK_URL, URL_ENV, default_url
from infra.logs import configure_logging
from infra.settings import Settings


def _port(text: str) -> int:
    # argparse's type=int let 99999 through, and the OS bound it modulo 65536.
    port = _whole_number(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1-65535)")
    return port


def _at_least_one(text: str) -> int:
    number = _whole_number(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not 1 or more")
    return number


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand; compose.yaml's commands are checked against this parser."""
    parser = argparse.ArgumentParser(prog="imagequeue", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API server")
    serve.add_argument("--host", help="interface to bind (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port to listen on (default: PORT or 8000)")

    worker = commands.add_parser("worker", help="run a worker that processes image jobs")
    worker.add_argument(
        "--concurrency",
        type=_at_least_one,
        help="images processed at once (default: WORKER_CONCURRENCY or 2)",
    )

    commands.add_parser("migrate", help="create the database if missing and apply migrations")

    up = commands.add_parser("up", help="migrate, then run the server and one worker")
    up.add_argument("--host")
    up.add_argument("--port", type=_port)

    stats = commands.add_parser(
        "stats", help="images by status, processing-time percentiles, queue depth"
    )
    stats.add_argument("--json", action="store_true", help="print one JSON object")

    dlq = commands.add_parser("dlq", help="list or replay the dead-letter queue")
    dlq.add_argument("action", choices=["list", "replay"])
    # default=[]: without one, argparse's usage error calls the ids required.
    dlq.add_argument(
        "ids",
        nargs="*",
        type=int,
        default=[],
        metavar="IMAGE_ID",
        help="replay: only these images",
    )
    dlq.add_argument("--json", action="store_true", help="print JSON")

    url_help = f"GraphQL endpoint (default: ${URL_ENV} if set, else {FALLBACK_URL})"
    upload = commands.add_parser(
        "upload",
        help="upload files or folders to a running server",
        description=(
            "Exit status: 0 all accepted (with --wait: all completed), 1 any file rejected, "
            "failed, deleted or unfinished, or the server unreachable, 2 a path cannot be "
            "read (nothing is uploaded), 130 interrupted."
        ),
    )
    upload.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    upload.add_argument(
        "--wait",
        action="store_true",
        help="show progress until each is completed, failed or deleted; "
        "reconnects if the server restarts",
    )
    upload.add_argument(
        "--timeout-s",
        type=_positive_seconds,
        metavar="SECONDS",
        help="with --wait: stop waiting after this long; unfinished files count as failed "
        "(default: wait as long as it takes)",
    )
    upload.add_argument(
        "--json",
        action="store_true",
        help='print the outcome as one JSON object, {"files": [{file, id, status, error}]}',
    )
    upload.add_argument("--url", default=default_url(), help=url_help)

    watch = commands.add_parser(
        "watch",
        help="print live events (all images, or the IDS given)",
        description=(
            "Reconnects if the server restarts. Exit status: 0 the images given are all "
            "final, 1 the server cannot be reached, 130 interrupted (Ctrl-C)."
        ),
    )
    watch.add_argument("ids", nargs="*", default=[], metavar="ID")
    watch.add_argument("--url", default=default_url(), help=url_help)
    # A mistake in a subcommand's arguments is reported with that subcommand's usage.
    for subparser in commands.choices.values():
        subparser.set_defaults(subparser=subparser)
    return parser


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return seconds


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Clients of a running server: they need its URL, not the server's settings.
    if args.command in ("upload", "watch"):
        if args.command == "upload" and args.timeout_s is not None and not args.wait:
            args.subparser.error("--timeout-s needs --wait")
        try:
            sys.exit(_run_client(args))
        except KeyboardInterrupt:
            # Ctrl-C before anything was sent (while folders are walked): nothing to report.
            sys.exit(EXIT_INTERRUPTED)
    if args.command == "dlq" and args.action == "list" and args.ids:
        args.subparser.error("dlq list takes no IMAGE_ID (it lists every dead letter)")
    settings = _load_settings()
    configure_logging(level=settings.log_level, log_format=settings.log_format)

    if args.command in ("serve", "worker"):
        # Creating the database is the server's to do at start-up (MIGRATE_ON_START).
        creates = args.command == "serve" and settings.migrate_on_start
        problem = _services_problem(settings, may_create_database=creates)
        if problem is not None:
            print(problem, file=sys.stderr)
            sys.exit(1)
    if args.command == "serve":
        _serve(settings, host=args.host, port=args.port)
    elif args.command == "worker":
        sys.exit(_run_worker(settings, concurrency=args.concurrency))
    else:
        sys.exit(_run_admin(settings, args))


EXIT_BAD_SETTINGS = 2


def _load_settings() -> Settings:
    """The settings, or one line per refused one on stderr and exit 2: a traceback would
    bury which variable to fix, and the refused value is never printed (it may be a
    password)."""
    try:
        return Settings()
    except ValidationError as exc:
        for line in settings_errors(exc):
            print(line, file=sys.stderr)
        sys.exit(EXIT_BAD_SETTINGS)


def settings_errors(exc: ValidationError) -> list[str]:
    """``JOB_TIMEOUT_S: Input should be a valid number, ...``: the variable, then why."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        reason = error["msg"].removeprefix("Value error, ")
        if not error["loc"]:
            # A rule across settings; its message names them.
            lines.append(reason)
            continue
        name, *inside = error["loc"]
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in inside)
        lines.append(f"{str(name).upper()}{where}: {reason}")
    return lines


def _services_problem(settings: Settings, *, may_create_database: bool) -> str | None:
    """Why the server or a worker cannot start, in one line, when PostgreSQL or RabbitMQ
    cannot be reached or the database refuses its user; ``None`` when both answer. Its own
    start-up would otherwise end in a traceback."""
    import asyncpg

    from cli.services import DATABASE_REFUSED, Unreachable, broker, database, database_refused

    async def probe() -> None:
        try:
            async with database(settings):
                pass
        except asyncpg.InvalidCatalogNameError:
            if not may_create_database:
                raise
        connection = await broker(settings, client_name="imagequeue-start-check")
        await connection.close()

    try:
        asyncio.run(probe())
    except Unreachable as exc:
        return str(exc)
    except DATABASE_REFUSED as exc:
        return database_refused(exc)
    return None


def _run_admin(settings: Settings, args: argparse.Namespace) -> int:
    """``migrate``, ``up``, ``dlq`` and ``stats``, which reach PostgreSQL or RabbitMQ
    themselves: one that cannot be reached, or a database that refuses the user (a wrong
    role or password, a missing right), is one line on stderr and exit 1 (for ``up``, so
    ``make run``, on a machine without PostgreSQL or with another user)."""
    import asyncpg

    from cli.services import DATABASE_REFUSED, Unreachable, database_refused

    try:
        if args.command == "migrate":
            applied = _migrate(settings)
            print(f"applied migrations: {applied or 'none (up to date)'}")
            return 0
        if args.command == "up":
            return _up(settings, host=args.host, port=args.port)
        if args.command == "dlq":
            from cli.dlq import run_dlq

            return run_dlq(settings, args.action, args.ids, as_json=args.json)
        from cli.stats import print_stats

        asyncio.run(print_stats(settings, as_json=args.json))
        return 0
    except Unreachable as exc:
        print(exc, file=sys.stderr)
        return 1
    except DATABASE_REFUSED as exc:
        print(database_refused(exc), file=sys.stderr)
        return 1
    except asyncpg.UndefinedTableError as exc:
        # A database nothing has migrated yet (a new one, or DATABASE_URL naming another).
        print(
            f"the database has no imagequeue tables ({exc}): run imagequeue migrate",
            file=sys.stderr,
        )
        return 1


def _run_worker(settings: Settings, *, concurrency: int | None) -> int:
    """A worker whose metrics listener cannot start (its port taken by another worker on
    this host, say) is one line on stderr, naming the setting to change, and exit 1."""
    from worker.main import run_worker
    from worker.metrics_server import MetricsListenerUnavailable

    try:
        asyncio.run(run_worker(settings, concurrency=concurrency))
    except MetricsListenerUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _migrate(settings: Settings) -> list[int]:
    from cli.services import unreachable
    from infra.db.availability import DATABASE_UNAVAILABLE
    from infra.db.migrate import migrate

    try:
        return asyncio.run(migrate(settings.database_url.get_secret_value()))
    except DATABASE_UNAVAILABLE as exc:
        raise unreachable("the database", exc) from exc


def _run_client(args: argparse.Namespace) -> int:
    if args.command == "upload":
        from cli.upload import run_upload

        return run_upload(
            args.url, args.paths, wait=args.wait, timeout_s=args.timeout_s, as_json=args.json
        )
    from cli.watch import run_watch

    return run_watch(args.url, args.ids)


def _serve(settings: Settings, *, host: str | None, port: int | None) -> None:
    import uvicorn

    from server.app import create_app

    # The app's default ALLOWED_HOSTS follows the address it is really bound to.
    settings = settings.model_copy(
        update={"host": host or settings.host, "port": port or settings.port}
    )
    # Bound here, before the URL is printed: a port another program holds is one line and
    # exit 1, not a URL that never answers and uvicorn's exit 3 after its log line.
    try:
        listening = _listening_socket(settings.host, settings.port)
    except OSError as exc:
        print(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc} "
            "(another program holds it? set PORT, or pass --port)",
            file=sys.stderr,
        )
        sys.exit(1)
    print(f"imagequeue API on http://{settings.host}:{settings.port}/graphql", flush=True)
    config = uvicorn.Config(
        create_app(settings),
        # Which peers' X-Forwarded-For becomes the client address (the per-address
        # WebSocket cap counts by it); uvicorn's default, unless set.
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level=settings.log_level.lower(),
        # None: keep the handlers configure_logging installed, so access lines are JSON too.
        log_config=None,
        timeout_graceful_shutdown=30,
        ws_max_size=1024 * 1024,
    )
    uvicorn.Server(config).run(sockets=[listening])


def _listening_socket(host: str, port: int) -> socket.socket:
    """Bound as uvicorn binds its own (``Config.bind_socket``), for it to serve."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family=family)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
    except OSError:
        listening.close()
        raise
    listening.set_inheritable(True)
    return listening


def _up(settings: Settings, *, host: str | None, port: int | None) -> int:
    """Run server and worker as child processes; Ctrl-C or SIGTERM stops both."""
    _migrate(settings)
    serve_args = ["serve"]
    if host:
        serve_args += ["--host", host]
    if port:
        serve_args += ["--port", str(port)]
    children = {
        "server": subprocess.Popen([sys.executable, "-m", "cli", *serve_args]),
        "worker": subprocess.Popen([sys.executable, "-m", "cli", "worker"]),
    }

    asked_to_stop = False

    def stop_children() -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal asked_to_stop
        asked_to_stop = True
        stop_children()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # When either child ends on its own, take the other down too: half a system is not "up".
    while all(child.poll() is None for child in children.values()):
        try:
            children["server"].wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue
    ended, ended_child = next(
        (name, child) for name, child in children.items() if child.poll() is not None
    )
    stop_children()
    for child in children.values():
        child.wait()
    if asked_to_stop:
        return 0
    # The child that ended on its own has said why on stderr; the other one's status only
    # says that we stopped it (uvicorn re-raises our SIGTERM, which make reported as
    # "Error 15"), so it is not the one to pass on.
    status: int = ended_child.returncode
    stopped = "worker" if ended == "server" else "server"
    print(
        f"the {ended} exited (status {status}), so the {stopped} was stopped too", file=sys.stderr
    )
    return max(1, abs(status))
