"""The `trunkline` command: serve the API, manage tokens, import rate decks."""

from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trunkline import decks, ids
from trunkline.app import prepare
from trunkline.config import Settings
from trunkline.platform import scopes
from trunkline.platform.requestlog import RequestLogWriter
from trunkline.platform.resources import utcnow
from trunkline.store import call_rates, identity
from trunkline.store.db import make_engine

app = typer.Typer(help="Trunkline: telecom platform API. Settings come from TRUNKLINE_* variables (see README).", no_args_is_help=True)
rates = typer.Typer(help="Rate decks.", no_args_is_help=True)
tokens = typer.Typer(help="API tokens (direct database access: for the operator on the server).", no_args_is_help=True)
requests_log = typer.Typer(help="The request log.", no_args_is_help=True)
app.add_typer(rates, name="rates")
app.add_typer(tokens, name="tokens")
app.add_typer(requests_log, name="requests")
console = Console(stderr=True, soft_wrap=True)
OrgOption = Annotated[str | None, typer.Option("--org", help="Organization id (default: the operator's)")]


def _org(conn, org: str | None) -> int:
    org_id = ids.decode(org) if org else identity.operator_org(conn)
    if org_id is None:
        console.print("[red]No such organization (start the server once to create the operator's)[/red]")
        raise typer.Exit(2)
    return org_id


def _engine(settings: Settings):
    prepare(settings)
    return make_engine(settings.sqlalchemy_url)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port [default: 8887]")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (give each a TRUNKLINE_WORKER_ID range in production)")] = 1,
) -> None:
    """Migrate the schema, create the operator's organization on first start, and serve the API."""
    settings = Settings()
    engine = _engine(settings)
    with engine.begin() as conn:
        secret = identity.bootstrap(conn)
    engine.dispose()
    host, port = host or settings.host, port or settings.port
    where = settings.database_url and "the configured database" or str(settings.data_dir / "trunkline.sqlite3")
    console.print(f"[bold]Trunkline[/bold] on http://{host}:{port}/api  (docs: http://{host}:{port}/api/docs, data: {where})")
    if secret:
        console.print(f"First start: operator admin token (shown once, store it now):\n  [bold green]{secret}[/bold green]")
        console.print(f"Try: curl -H 'Authorization: Bearer {secret}' http://{host}:{port}/api/auth/me")
    else:
        console.print("Need a token? Run: trunkline tokens create")
    uvicorn.run(
        "trunkline.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="info",
    )


@tokens.command("create")
def create_token(
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    scope: Annotated[list[str], typer.Option(help="Scope, repeatable (e.g. call_rates.read)")] = ["*"],  # noqa: B006
    org: OrgOption = None,
) -> None:
    """Create an API token and print its secret (once)."""
    unknown = [s for s in scope if not scopes.is_known(s)]
    if unknown:
        console.print(f"[red]Unknown scopes: {', '.join(unknown)}[/red]")
        raise typer.Exit(2)
    engine = _engine(Settings())
    with engine.begin() as conn:
        identity.bootstrap(conn)
        _, secret = identity.create_token(conn, _org(conn, org), name, scope)
    print(secret)


@rates.command("import")
def import_rates(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV deck with a header row")],
    replace: Annotated[bool, typer.Option(help="Replace the whole deck instead of merging by prefix")] = False,
    org: OrgOption = None,
) -> None:
    """Import a CSV rate deck: all rows or none; every bad row is reported with its line number."""
    size = file.stat().st_size
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress, file.open(newline="", encoding="utf-8-sig") as handle:
        task = progress.add_task("validating", total=max(1, size))
        deck = decks.read(_counting(handle, progress, task))
        progress.update(task, completed=size)
        if deck.error_count:
            for error in deck.errors:
                console.print(f"line {error.line}: {error.field or '-'}: {error.reason}")
            console.print(f"[red]{deck.error_count} bad row(s); nothing was imported[/red]")
            raise typer.Exit(1)
        engine = _engine(Settings())
        saving = progress.add_task("saving", total=len(deck.rows))
        with engine.begin() as conn:
            inserted, updated = call_rates.load(conn, _org(conn, org), deck.rows, replace, utcnow())
        progress.update(saving, completed=len(deck.rows))
    console.print(f"{len(deck.rows)} rates: {inserted} new, {updated} updated")


def _counting(handle, progress: Progress, task):
    """Lines of `handle`, advancing the bar by characters read every few thousand lines."""
    pending = 0
    for number, line in enumerate(handle):
        pending += len(line)
        if number % 5000 == 0:
            progress.advance(task, pending)
            pending = 0
        yield line


@requests_log.command("purge")
def purge_requests() -> None:
    """Delete request-log entries older than TRUNKLINE_REQUEST_LOG_DAYS (14 by default)."""
    settings = Settings()
    removed = RequestLogWriter(_engine(settings), settings.request_log_days).purge()
    print(f"{removed} entries removed")


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (serve does this too)."""
    _engine(Settings()).dispose()
    console.print("schema up to date")
