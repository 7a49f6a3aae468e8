"""The `trunkline` command: serve the API, manage tokens, import rate decks and calls, rate CDR files."""

import asyncio
import csv
import os
import signal
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.exc import SQLAlchemyError

from trunkline.app import prepare
from trunkline.call_rates import deck_csv
from trunkline.call_rates import service as call_rate_service
from trunkline.call_rates.deck_cache import DeckCache
from trunkline.calls import files as cdr_files
from trunkline.calls import ingest
from trunkline.db.engine import make_engine
from trunkline.db.tables import organizations
from trunkline.identity import repository as identity
from trunkline.kit import ids, lookup, scopes
from trunkline.kit.clock import utcnow
from trunkline.kit.config import Settings
from trunkline.kit.failures import Failure
from trunkline.kit.secretbox import KEY_FILE, server_box
from trunkline.messages.dispatcher import MessageDispatcher
from trunkline.rate_plans import repository as rate_plans
from trunkline.rating import BulkRater, Deck
from trunkline.request_log.repository import RequestLogWriter
from trunkline.smsc_simulator import launch as smsc_simulator_launch
from trunkline.smsc_simulator.behaviour import Behaviour
from trunkline.verifications.expiry import Expirer
from trunkline.webhooks import dispatcher as webhook_delivery
from trunkline.workers.leases import lease_for_command, leased

app = typer.Typer(help="Trunkline: telecom platform API. Settings come from TRUNKLINE_* variables (see README).", no_args_is_help=True)
rates = typer.Typer(help="Rate decks.", no_args_is_help=True)
tokens = typer.Typer(help="API tokens (direct database access: for the operator on the server).", no_args_is_help=True)
requests_log = typer.Typer(help="The request log.", no_args_is_help=True)
app.add_typer(rates, name="rates")
app.add_typer(tokens, name="tokens")
calls = typer.Typer(help="Calls (CDRs) in the server's database.", no_args_is_help=True)
app.add_typer(calls, name="calls")
app.add_typer(requests_log, name="requests")
console = Console(stderr=True, soft_wrap=True)
OrgOption = Annotated[str | None, typer.Option("--org", help="Organization id (default: the operator's)")]


def _org(conn, org: str | None) -> int:
    org_id = ids.decode(org) if org else identity.operator_org(conn)
    if org_id is not None and org and lookup.by_id(conn, organizations, org_id, org_id) is None:
        org_id = None
    if org_id is None:
        console.print("[red]No such organization (start the server once to create the operator's)[/red]")
        raise typer.Exit(2)
    return org_id


def _engine(settings: Settings, create: bool = False, lease: bool = True):
    """The server's database. Only `serve` and `migrate` create one: any other command that
    finds none says where it looked, instead of making a new one the server never reads."""
    database = settings.data_dir / "trunkline.sqlite3"
    if not create and not settings.database_url and not database.exists():
        console.print(
            f"[red]No database at {escape(str(database))}.[/red] Start the server once (trunkline serve) or run "
            "trunkline migrate, or point TRUNKLINE_DATA_DIR (or TRUNKLINE_DATABASE_URL) at the server's database."
        )
        raise typer.Exit(2)
    prepare(settings)
    engine = make_engine(settings.sqlalchemy_url)
    if settings.worker_id is not None:
        ids.configure(settings.worker_id)
    elif lease:
        lease_for_command(engine)  # ids this command makes never collide with a server's
    return engine


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address \\[default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port \\[default: 8887]")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes; one per core lets CDR batches be rated in parallel (give each a TRUNKLINE_WORKER_ID range in production)")] = 1,
) -> None:
    """Migrate the schema, create the operator's organization on first start, and serve the API."""
    settings = Settings()
    engine = _engine(settings, create=True, lease=False)  # the server's workers lease their own
    with leased(engine) if settings.worker_id is None else nullcontext(), engine.begin() as conn:
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
        proxy_headers=False,  # forwarding headers are read by the app, from TRUNKLINE_TRUSTED_PROXIES only
        server_header=False,
    )


@app.command()
def worker() -> None:
    """Send messages and deliver webhooks without serving HTTP: runs the message dispatcher, the passcode expirer and the webhook dispatcher until stopped.

    They claim their work from the database (due messages, due deliveries), so any number of workers and servers share it safely; `trunkline serve` runs the same unless TRUNKLINE_DISPATCH=false. Messages go out through the SMSC connections configured over the API; webhooks are posted signed per Standard Webhooks, every attempt recorded and the retries scheduled.

    A worker needs the servers' database and key (TRUNKLINE_SECRET_KEY, or secret.key in the data directory): it opens SMSC passwords and signing secrets. Ctrl-C or SIGTERM stops it once the work in flight is recorded.
    """
    settings = Settings()
    engine = _engine(settings)
    if not settings.secret_key and not (settings.data_dir / KEY_FILE).exists():
        console.print("[red]No server key: set TRUNKLINE_SECRET_KEY to the servers' key (it seals SMSC passwords and webhook signing secrets)[/red]")
        raise typer.Exit(2)
    box = server_box(settings.secret_key, settings.data_dir)
    services = (MessageDispatcher(engine, box), Expirer(engine), webhook_delivery.from_settings(engine, box, settings))
    where = settings.database_url and "the configured database" or str(settings.data_dir / "trunkline.sqlite3")
    console.print(f"[bold]Trunkline worker[/bold]: sending messages and delivering webhooks from {where} (Ctrl-C stops)")
    try:
        asyncio.run(_work(services))
    finally:
        engine.dispose()


async def _work(services) -> None:
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    for service in services:
        service.start()
    await stopped.wait()
    for service in services:
        await service.stop()


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
    replace: Annotated[bool, typer.Option(help="Replace the plan's deck (with --effective-from: end there what the list lacks) instead of merging")] = False,
    plan: Annotated[str | None, typer.Option(help="The rate plan's name [default: the organization's default plan]")] = None,
    effective_from: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"], help="When the list takes effect (UTC for a date)")] = None,
    org: OrgOption = None,
) -> None:
    """Import a CSV rate deck: all rows or none; every bad row is reported with its line number."""
    with _file_progress() as progress:
        deck = _read_deck(file, progress, "nothing was imported")
        engine = _engine(Settings())
        saving = progress.add_task("saving", total=max(1, len(deck.rows)), records=f"{len(deck.rows):,} rates")
        with engine.begin() as conn:
            org_id = _org(conn, org)
            target = rate_plans.named(conn, org_id, plan) if plan else rate_plans.find(conn, org_id, org_id)
            if target is None:
                console.print(f"[red]No rate plan named {plan}[/red]")
                raise typer.Exit(2)
            start = effective_from and (effective_from if effective_from.tzinfo else effective_from.replace(tzinfo=UTC))
            try:
                inserted, updated = call_rate_service.load(conn, org_id, target, deck.rows, replace, start, utcnow())
            except Failure as exc:
                console.print(f"[red]{exc.message}[/red]")
                raise typer.Exit(1) from None
        progress.update(saving, completed=max(1, len(deck.rows)))
    console.print(f"{len(deck.rows)} rates: {inserted} new, {updated} updated")


def _list(problems: cdr_files.Problems, what: str) -> None:
    for problem in problems.listed:
        console.print(str(problem), highlight=False, markup=False)
    if problems.count > len(problems.listed):
        console.print(f"... and {problems.count - len(problems.listed)} more {what}")


def _file_progress() -> Progress:
    """A bar over a file's bytes; tasks carry a `records` text such as "1,200 CDRs"."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[records]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=console)


@app.command(epilog="Exit status: 0 every CDR valid; 1 nothing written (bad deck or CDR header); 3 written, but some CDRs invalid.")
def rate(
    deck: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Rate deck CSV (the `rates import` format)")],
    cdrs: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="CDR CSV with a header naming at least callee and billsec")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="Rated CSV to write")],
    chunk_size: Annotated[int, typer.Option(min=1, help="CDRs rated per chunk (bounds memory)")] = 100_000,
) -> None:
    """Rate a CDR file offline: no server, no database.

    The deck is validated like an API import: a bad deck aborts, every bad
    line listed, nothing written. Each CDR is matched by longest prefix and
    priced exactly, in chunks, so files of any size stream through.

    The output has the input's columns, unchanged, plus status (rated or
    unrated), unrated_reason, prefix, rate_type and cost (5 decimal places;
    empty when unrated, never 0). It appears only when complete (written to
    OUT.part, then renamed).

    Invalid CDRs (no callee; billsec not a whole number from 0 to 10000000)
    are never priced: they are written as unrated with reason invalid_cdr,
    listed with their line numbers, and the exit status is 3.
    """
    started = time.perf_counter()
    with _file_progress() as progress:
        deck_read = _read_deck(deck, progress, "nothing was written")
        if not deck_read.rows:
            progress.console.print("[red]The deck has no rates; nothing was written[/red]")
            raise typer.Exit(1)
        rater = BulkRater(Deck(cdr_files.deck_rates(deck_read.rows)))
        size = cdrs.stat().st_size
        partial = out.with_name(out.name + ".part")
        with cdrs.open(newline="", encoding="utf-8-sig") as source:
            try:
                job = cdr_files.CsvRating(rater, source, chunk_size)
            except cdr_files.FileError as exc:
                progress.console.print(f"[red]{escape(str(cdrs))}: {escape(str(exc))}; nothing was written[/red]")
                raise typer.Exit(1) from None
            task = progress.add_task("rating", total=max(1, size), records="0 CDRs")
            try:
                with partial.open("w", newline="", encoding="utf-8") as sink:
                    for summary in job.run(sink):
                        progress.update(task, completed=source.buffer.tell(), records=f"{summary.rows:,} CDRs")
            except cdr_files.FileError as exc:
                partial.unlink(missing_ok=True)
                progress.console.print(f"[red]{escape(str(cdrs))}: {escape(str(exc))}; nothing was written[/red]")
                raise typer.Exit(1) from None
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            progress.update(task, completed=size)
        os.replace(partial, out)
    summary, elapsed = job.summary, time.perf_counter() - started
    _list(summary.problems, "invalid CDRs")
    console.print(
        f"{summary.rows:,} CDRs: {summary.rated:,} rated, {summary.unrated:,} unrated"
        f" ({summary.invalid:,} invalid), total cost {cdr_files.format_units(summary.cost_units)}"
        f" in {elapsed:.1f} s ({summary.rows / max(elapsed, 1e-9):,.0f} CDRs/s) -> {out}"
    )
    if summary.invalid:
        console.print(f"[red]{summary.invalid:,} invalid CDR(s) written as unrated ({cdr_files.INVALID_CDR})[/red]")
        raise typer.Exit(3)


@calls.command(
    "import",
    epilog="Exit status: 0 all stored or already there; 1 bad records or a failed batch (see above); 2 bad options.",
)
def import_calls(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CDR file: CSV with a header row, NDJSON or JSON")],
    org: OrgOption = None,
    format: Annotated[str | None, typer.Option("--format", help="csv, ndjson or json \\[default: from the file name]")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="CDRs stored per transaction")] = 10_000,
) -> None:
    """Load CDRs into the database, rated on ingest as POST /api/calls does.

    Direct database access (TRUNKLINE_* settings; the schema is migrated
    first). Records are validated as the API validates them and stored in
    batches, each in its own transaction: all of a batch or none of it. A CDR
    whose call_id is already stored is skipped and counted as a duplicate,
    never stored or billed twice.

    If a batch holds a bad record, or fails to store, neither it nor any later
    batch is stored; earlier batches stay. The rest of the file is still read
    so that every bad record is listed. Fix the file and run the command
    again: calls already stored are recognised by call_id and skipped.

    A JSON file (one object or an array) is read and validated whole: one bad
    record and nothing is stored. Use NDJSON or CSV for big files.
    """
    fmt = format or cdr_files.guess_format(file.name)
    if fmt not in cdr_files.FORMATS:
        console.print(f"[red]Say --format {' / '.join(cdr_files.FORMATS)}: cannot tell from {escape(file.name)!r}[/red]")
        raise typer.Exit(2)
    engine = _engine(Settings())
    with engine.connect() as conn:
        org_id = _org(conn, org)
    cache, problems, totals = DeckCache(), cdr_files.Problems(), ingest.Ingested()
    stopped_at, failure, started = None, None, time.perf_counter()
    size = file.stat().st_size
    try:
        with _file_progress() as progress, file.open("rb") as handle:
            task = progress.add_task("importing", total=max(1, size), records="0 CDRs")
            for batch in cdr_files.read_batches(handle, fmt, batch_size):
                for problem in batch.problems:
                    problems.add(problem)
                if stopped_at is None and batch.problems:
                    stopped_at = batch.last
                if stopped_at is None:
                    try:
                        done = ingest.ingest_batch(engine, cache, org_id, lambda: batch.calls)
                    except SQLAlchemyError as exc:
                        stopped_at, failure = batch.last, exc
                    else:
                        totals.stored_ids += done.stored_ids
                        totals.duplicate_call_ids += done.duplicate_call_ids
                        totals.unrated += done.unrated
                        totals.cost_units += done.cost_units
                totals.received += len(batch.calls) + len({p.where for p in batch.problems})
                progress.update(task, completed=handle.tell(), records=f"{totals.received:,} CDRs")
            progress.update(task, completed=size)
    except cdr_files.FileError as exc:
        stored = len(totals.stored_ids)
        outcome = f"{stored:,} calls stored before this stay (re-running is safe)" if stored else "nothing was stored"
        console.print(f"[red]{escape(str(file))}: {escape(str(exc))}; {outcome}[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    elapsed = time.perf_counter() - started
    _list(problems, "problems")
    stored = len(totals.stored_ids)
    console.print(
        f"{totals.received:,} CDRs read: {stored:,} stored, {len(totals.duplicate_call_ids):,} duplicates,"
        f" {totals.unrated:,} unrated, total cost {cdr_files.format_units(totals.cost_units)}"
        f" in {elapsed:.1f} s ({totals.received / max(elapsed, 1e-9):,.0f} CDRs/s)"
    )
    if stopped_at is not None:
        reason = f"storing failed: {escape(str(failure))}" if failure else f"{problems.count} problem(s)"
        console.print(
            f"[red]Stopped at the batch ending at {stopped_at} ({reason}); nothing from there on was stored."
            " Earlier batches stay: fix the file and run again (stored calls are skipped by call_id).[/red]"
        )
        raise typer.Exit(1)


def _read_deck(path: Path, progress: Progress, outcome: str) -> deck_csv.DeckRead:
    """The validated deck, or exit 1 with every bad line listed."""
    size = path.stat().st_size
    with path.open(newline="", encoding="utf-8-sig") as handle:
        task = progress.add_task("reading deck", total=max(1, size), records="")
        try:
            deck = deck_csv.read(_counting(handle, progress, task))
        except (UnicodeDecodeError, csv.Error) as exc:
            progress.console.print(f"[red]{escape(str(path))}: cannot be read as a CSV deck: {escape(str(exc))}; {outcome}[/red]")
            raise typer.Exit(1) from None
        progress.update(task, completed=size)
    if deck.error_count:
        for error in deck.errors:
            progress.console.print(f"line {error.line}: {error.field or '-'}: {error.reason}", markup=False, highlight=False)
        progress.console.print(f"[red]{deck.error_count} bad row(s) in the deck; {outcome}[/red]")
        raise typer.Exit(1)
    return deck


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
    """Create the database if there is none, and bring its schema up to date (serve does this too)."""
    _engine(Settings(), create=True).dispose()
    console.print("schema up to date")


@app.command(
    "smsc-simulator",
    epilog="Control API (HTTP/JSON on --control-port): GET /submits?since=N, POST /mo, GET|POST /behaviour, POST /disconnect, "
    "POST /fail-next, GET /stats, POST /reset; schemas at /docs. Port 0 picks a free port; the ports are printed on start.",
)
def smsc_simulator(
    host: Annotated[str, typer.Option(help="Address to listen on, for SMPP and the control API")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="SMPP port", min=0, max=65535)] = 2775,
    control_port: Annotated[int, typer.Option(help="Control API port", min=0, max=65535)] = 2776,
    system_id: Annotated[str, typer.Option(help="The system_id an ESME must bind with")] = "trunkline",
    password: Annotated[str, typer.Option(help="The password it must bind with (SMPP 3.4: at most 8 characters)")] = "secret",
    receipt_delay: Annotated[float, typer.Option(help="Seconds from a submit to its delivery receipt", min=0)] = 0.5,
    decimal_receipt_ids: Annotated[bool, typer.Option("--decimal-receipt-ids", help="Quirk: receipts give the message id in decimal, submit_sm_resp in hex")] = False,
    receipt_before_response: Annotated[bool, typer.Option("--receipt-before-response", help="Quirk: send the receipt before the submit_sm_resp")] = False,
    throttle_per_second: Annotated[int, typer.Option(help="Answer ESME_RTHROTTLED to submits beyond this many a second (0: no limit)", min=0)] = 0,
) -> None:
    """Run a simulated SMSC: an SMPP 3.4 server that accepts binds and submits, sends delivery receipts, and on command from its control API injects MO messages, errors and disconnects.

    For local use and the tests: point an ESME at --port with --system-id and --password, and steer or inspect the simulator over HTTP on --control-port."""
    behaviour = Behaviour(receipt_delay=receipt_delay, decimal_receipt_ids=decimal_receipt_ids, receipt_before_response=receipt_before_response, throttle_per_second=throttle_per_second)

    def ready(smpp: str, control: str) -> None:
        console.print(f"[bold]SMSC simulator[/bold]: SMPP on {smpp} (system_id {escape(system_id)}), control API on {control} (schemas at {control}/docs)")

    try:
        smsc_simulator_launch.run(system_id, password, behaviour, host, port, control_port, ready)
    except OSError as error:
        console.print(f"[red]Cannot listen: {escape(str(error))}[/red]")
        raise typer.Exit(1) from error
    except KeyboardInterrupt:
        pass
