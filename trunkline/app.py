"""The ASGI application: platform conventions wrapped around the resource routers."""

from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from trunkline.accounts import endpoints as accounts
from trunkline.call_rates import endpoints as call_rates
from trunkline.call_rates.deck_cache import DeckCache
from trunkline.calls import endpoints as calls
from trunkline.calls import parsing
from trunkline.calls.group_commit import GroupCommit
from trunkline.calls.rerater import Rerater
from trunkline.db.engine import make_engine, migrate
from trunkline.identity import endpoints as auth
from trunkline.identity import organizations, tokens, users
from trunkline.identity.service import Directory, Identity
from trunkline.invoices import endpoints as invoices
from trunkline.kit import errors, ids, openapi, scopes
from trunkline.kit.auth import AuthenticateFirstMiddleware, Authenticator
from trunkline.kit.body import BodyDecodingMiddleware
from trunkline.kit.bodylimit import BodyLimitMiddleware
from trunkline.kit.clients import ClientAddressMiddleware, networks
from trunkline.kit.config import Settings
from trunkline.kit.credentials import Passwords
from trunkline.kit.ratelimit import RateLimiter
from trunkline.kit.requestlog import RequestLogMiddleware
from trunkline.kit.responses import JSONResponse
from trunkline.kit.routing import API, mount
from trunkline.kit.secretbox import server_box
from trunkline.messages import endpoints as messages
from trunkline.messages.dispatcher import MessageDispatcher
from trunkline.products import endpoints as products
from trunkline.pushes import endpoints as pushes
from trunkline.pushes import quarantine
from trunkline.rate_plans import endpoints as rate_plans
from trunkline.reports import endpoints as reports
from trunkline.request_log import endpoints as request_log
from trunkline.request_log.repository import RequestLogWriter
from trunkline.smsc import endpoints as smsc_connections
from trunkline.smsc import routes as sms_routes
from trunkline.switches import endpoints as switch_endpoints
from trunkline.vendors import endpoints as vendors
from trunkline.vendors import lcr
from trunkline.verifications import endpoints as verifications
from trunkline.verifications.expiry import Expirer
from trunkline.voice import endpoints as voice
from trunkline.voice.dispatcher import Dispatcher, make_dialer
from trunkline.webhooks import dispatcher as webhook_delivery
from trunkline.webhooks import endpoints as webhooks
from trunkline.workers.leases import WorkerLease

# Each route module exports its `router` and the scope resources it guards (`SCOPES`).
ROUTE_MODULES = (auth, organizations, users, tokens, request_log, rate_plans, call_rates, vendors, lcr, calls, accounts, invoices, reports, switch_endpoints, pushes, quarantine, products, voice, messages, verifications, smsc_connections, sms_routes, webhooks)
ROUTERS = tuple(module.router for module in ROUTE_MODULES)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.sqlalchemy_url, settings.sqlite_busy_seconds)
    ids.configure(settings.worker_id)  # pinned by TRUNKLINE_WORKER_ID, or leased at start:
    lease = WorkerLease(engine) if settings.worker_id is None else None
    writer = RequestLogWriter(engine, settings.request_log_days)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if lease is not None:
            await run_in_threadpool(lease.start)
        writer.start()
        if settings.dispatch:
            app.state.webhooks.start()
            app.state.messages.start()
            app.state.expirer.start()
        app.state.rerater.started()
        await app.state.rerater.resume()
        yield
        await app.state.rerater.stop()
        await app.state.dispatcher.stop()
        await app.state.expirer.stop()
        await app.state.messages.stop()
        await app.state.webhooks.stop()
        await writer.stop()
        if lease is not None:
            await run_in_threadpool(lease.stop)
        engine.dispose()

    app = FastAPI(
        title="Trunkline",
        version="0.1.0",
        summary="Telecom platform API: rate decks, call rating, call-data reports, scoped credentials.",
        openapi_url=f"{API}/openapi.json",
        docs_url=None,  # served by openapi.install_docs, with Swagger UI's assets from the package
        swagger_ui_oauth2_redirect_url=f"{API}/docs/oauth2-redirect",  # under the base path, like the docs
        redoc_url=None,
        license_info={"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
        default_response_class=JSONResponse,
        lifespan=lifespan,
        # Off, FastAPI skips the per-request check for a configured OpenTelemetry provider.
        telemetry={"tracing": settings.telemetry, "metrics": settings.telemetry, "logs": settings.telemetry},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.request_log = writer
    app.state.passwords = Passwords(fast=settings.argon2_fast)
    app.state.secrets = server_box(settings.secret_key, settings.data_dir)  # generated into the data dir on first start
    app.state.decks = DeckCache()
    app.state.rerater = Rerater(engine, app.state.decks)
    app.state.group_commit = GroupCommit(engine, app.state.decks)
    app.state.dispatcher = Dispatcher(engine, make_dialer(settings))
    app.state.webhooks = webhook_delivery.from_settings(engine, app.state.secrets, settings)
    app.state.messages = MessageDispatcher(engine, app.state.secrets)
    app.state.expirer = Expirer(engine)
    app.state.authenticator = Authenticator(Directory(engine), settings, app.state.passwords, RateLimiter(settings.redis_url))
    app.state.identity = Identity(engine, app.state.passwords, app.state.authenticator.forget)

    scopes.declare(*(resource for module in ROUTE_MODULES for resource in module.SCOPES))
    mount(app, ROUTERS)
    errors.install(app)
    # Last added runs first: client address, request log, authentication, body limit, body decoding.
    app.add_middleware(BodyDecodingMiddleware, prefix=API, raw_bodies={f"{API}/calls": parsing.MEDIA_TYPES, f"{API}/call_rates/import": call_rates.MEDIA_TYPES}, raw_paths=frozenset({f"{API}/endpoint/cdr"}))
    uploads = frozenset({f"{API}/calls", f"{API}/call_rates/import", f"{API}/endpoint/cdr"})
    app.add_middleware(BodyLimitMiddleware, default=settings.max_body_bytes, upload=settings.max_upload_bytes, upload_paths=uploads)
    app.add_middleware(AuthenticateFirstMiddleware, prefix=API, public=frozenset({f"{API}/oauth/token", f"{API}/endpoint/cdr"}))
    app.add_middleware(RequestLogMiddleware, writer=writer)
    app.add_middleware(ClientAddressMiddleware, trusted=networks(settings.trusted_proxies))  # outermost: everyone reads the address it sets
    app.openapi = lambda: openapi.build(app)
    openapi.install_docs(app, f"{API}/docs")
    return app


def prepare(settings: Settings) -> None:
    """Create the data directory and bring the schema up to date."""
    if not settings.database_url:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
