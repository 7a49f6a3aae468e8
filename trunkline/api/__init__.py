"""Resource routers, one module per resource; `ROUTERS` is what the app mounts under /api."""

from trunkline.api import auth, call_rates, calls, organizations, reports, requests, tokens, users

ROUTERS = (
    auth.router,
    organizations.router,
    users.router,
    tokens.router,
    requests.router,
    call_rates.router,
    calls.router,
    reports.router,
)
