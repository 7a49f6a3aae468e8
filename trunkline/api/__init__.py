"""Resource routers, one module per resource; `ROUTERS` is what the app mounts under /api."""

from trunkline.api import accounts, auth, call_rates, calls, cdr_quarantine, endpoint_cdr, endpoints, organizations, products, reports, requests, tokens, users, voice

ROUTERS = (
    auth.router,
    organizations.router,
    users.router,
    tokens.router,
    requests.router,
    call_rates.router,
    calls.router,
    accounts.router,
    reports.router,
    endpoints.router,
    endpoint_cdr.router,
    cdr_quarantine.router,
    products.router,
    voice.router,
)
