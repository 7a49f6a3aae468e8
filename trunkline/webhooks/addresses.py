"""The address guard: webhooks reach public addresses only, unless the operator allows others.

A webhook URL is a request the server makes on a customer's behalf, so without a guard it
could reach the server's own loopback services, the private network behind it or a cloud
metadata address. The host is resolved and every address it resolves to must be public, once
when the URL is saved and again on every connection: DNS may change in between, so the
connection is made to the very address that was checked (`PublicOnly`).
"""

import asyncio
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

import httpcore
import httpx

from trunkline.kit.failures import Invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
ALLOW_HINT = "the operator can allow them with TRUNKLINE_WEBHOOKS_ALLOW_PRIVATE=true"


def parse_url(url: str) -> tuple[str, int]:
    """(host, port) of an http or https URL; ValueError saying what is wrong otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an http or https URL")
    if not parts.hostname:
        raise ValueError("names no host")
    return parts.hostname, port


def public(address: Address) -> bool:
    """Whether `address` is a public unicast address: not loopback, private, link-local, shared,
    multicast, reserved or unspecified, nor one of those wrapped in an IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address):
        teredo = address.teredo
        wrapped = address.ipv4_mapped or address.sixtofour or (teredo[1] if teredo else None)
        if wrapped is not None and not public(wrapped):
            return False
    return address.is_global and not address.is_multicast and not address.is_reserved


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is link-local anyway
    except ValueError:
        return None


def _refusal(host: str, found: list[Address | None]) -> str | None:
    """Why `host`, resolved to `found`, may not be reached; None when every address is public."""
    for address in found:
        if address is None or not public(address):
            return f"{host} resolves to {address or 'an unreadable address'}, which is not a public address ({ALLOW_HINT})"
    return None


def check(url: str, allow_private: bool, field: str = "url") -> None:
    """Refuse (422, naming `field`) a URL whose host does not resolve or resolves to a non-public address."""
    if allow_private:
        return
    host, port = parse_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Invalid.fields({"name": field, "reason": f"the host {host} does not resolve"}) from None
    refusal = _refusal(host, [_address(info[4][0]) for info in infos])
    if refusal:
        raise Invalid.fields({"name": field, "reason": refusal})


class PublicOnly(httpcore.AsyncNetworkBackend):
    """Connects to a host only when every address it resolves to is public, and then to one
    of those addresses (TLS still checks the certificate against the URL's host)."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None, socket_options=None):
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise httpcore.ConnectError(f"the host {host} does not resolve") from None
        found = [_address(info[4][0]) for info in infos]
        refusal = _refusal(host, found)
        if refusal:
            raise httpcore.ConnectError(refusal)
        failure = httpcore.ConnectError(f"the host {host} has no address")
        for address in dict.fromkeys(found):
            try:
                return await self._backend.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def transport(allow_private: bool, limits: httpx.Limits, tls: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """The dispatcher's transport: no proxies from the environment (they would bypass the
    guard), and unless private addresses are allowed, connections through `PublicOnly`."""
    transport = httpx.AsyncHTTPTransport(verify=tls, limits=limits, trust_env=False)
    if not allow_private:
        # httpx takes no network backend; its transport sends every request through `_pool`.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PublicOnly(),
        )
    return transport
