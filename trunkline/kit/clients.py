"""The client's address: the socket's peer, or, behind a trusted proxy, the address it forwarded.

Forwarding headers (`X-Forwarded-For`, RFC 7239 `Forwarded`) are believed only from the proxies
named in `TRUNKLINE_TRUSTED_PROXIES` (addresses or CIDRs; default none, so the socket's peer is
the client). Token IP allow-lists, the per-address login limit and the request log all read the
address set here. Walking the chain from the right, each hop a trusted proxy added is followed
until an address that is not a trusted proxy: the client cannot forge hops the proxies append.

uvicorn's own ProxyHeadersMiddleware reads only X-Forwarded-For and trusts 127.0.0.1 by
default, so `trunkline serve` turns it off and this middleware does the job for both headers.
"""

import ipaddress
import re

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FOR = re.compile(r'(?:^|[;,\s])for\s*=\s*("[^"]*"|[^;,\s]*)', re.IGNORECASE)


def networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDRs; ValueError names a bad one."""
    found = []
    for item in (part.strip() for part in text.split(",")):
        if item:
            try:
                found.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"not an IP address or CIDR: {item!r}") from None
    return tuple(found)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from a header hop: quotes, [brackets] and a port removed; None for
    `unknown`, obfuscated names or garbage."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _hops(headers: list[tuple[bytes, bytes]]) -> list[str]:
    """The forwarded-for chain, oldest first: `Forwarded` when sent, else `X-Forwarded-For`."""
    forwarded = [value.decode("latin-1") for name, value in headers if name == b"forwarded"]
    if forwarded:
        return [match.group(1) for value in forwarded for match in _FOR.finditer(value)]
    return [hop for name, value in headers if name == b"x-forwarded-for" for hop in value.decode("latin-1").split(",")]


def resolve(peer: str, headers: list[tuple[bytes, bytes]], trusted: tuple[Network, ...]) -> str:
    """The client's address as seen through the trusted proxies in front of `peer`."""
    current = _address(peer)
    hops = _hops(headers)
    while current is not None and hops and any(current in network for network in trusted):
        forwarded = _address(hops.pop())
        if forwarded is None:
            break
        current = forwarded
    return str(current) if current is not None else peer


class ClientAddressMiddleware:
    def __init__(self, app: ASGIApp, trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.trusted and scope["type"] == "http" and scope.get("client"):
            host, port = scope["client"]
            scope["client"] = (resolve(host, scope["headers"], self.trusted), port)
        await self.app(scope, receive, send)
