"""Image sources by URL, for the service: off unless a `UrlPolicy` is given (`intentcrop serve --allow-url HOST`).

Each fetch is checked where a server-side request forgery would slip through:

* the URL: http or https only, no user:password, its host on the allow-list (exact names, `*.example.com` for
  the sub-domains, or `*` for any host);
* the address, at connect time: the host is resolved once, every address is checked (no loopback, link-local,
  private, multicast, reserved or unspecified ones unless their network is in `allow_networks`), and the socket
  connects to the checked address itself -- a DNS answer that changes between check and connect (rebinding)
  cannot move it elsewhere; TLS still verifies the certificate chain (the system's store, plus `ca_file` when
  given) and the host name;
* redirects are followed by hand, at most `max_redirects`, each new URL checked as the first was;
* size: a `Content-Length` over `max_bytes` is refused before the body is read, and the body is counted as it
  arrives; time: each socket operation has `timeout` seconds and the whole fetch `total_timeout`.

A refusal is a `UrlRefused` (the service answers 400), a failure to fetch an `UrlFetchError` (502).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from intentcrop.errors import IntentCropError


class UrlRefused(IntentCropError):
    """The URL is not one this service may fetch."""


class UrlFetchError(IntentCropError):
    """The URL was allowed but could not be fetched (status, size, time, network)."""


@dataclass
class UrlPolicy:
    allow_hosts: list[str] = field(default_factory=list)  # exact names, "*.domain" or "*"
    allow_networks: list[str] = field(default_factory=list)  # e.g. "127.0.0.0/8": let these non-public ones in
    max_bytes: int = 20 * 1024 * 1024
    timeout: float = 5.0  # seconds per socket operation
    total_timeout: float = 15.0  # seconds for the whole fetch, redirects included
    max_redirects: int = 3
    # extra certificates to trust for https (e.g. a company CA); the system's store is always trusted too
    ca_file: str | None = None

    def __post_init__(self) -> None:
        self.networks = [ipaddress.ip_network(n, strict=False) for n in self.allow_networks]
        self.tls = ssl.create_default_context()  # built once: a bad ca_file fails at start-up, not per request
        if self.ca_file:
            try:
                self.tls.load_verify_locations(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"ca_file {self.ca_file!r}: not a readable PEM certificate file ({exc})") from None

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for pattern in self.allow_hosts:
            pattern = pattern.lower().rstrip(".")
            if pattern == "*" or pattern == host:
                return True
            if pattern.startswith("*.") and host.endswith(pattern[1:]):
                return True
        return False

    def address_allowed(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in n for n in self.networks):
            return True
        return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback
                                     or ip.is_link_local or ip.is_private)


def _check_url(url: str, policy: UrlPolicy) -> tuple[str, str, int, str]:
    """(scheme, host, port, path+query) of an allowed URL; UrlRefused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"url {url[:200]!r}: not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(f"url {url[:200]!r}: only http and https URLs are fetched")
    if parts.username or parts.password:
        raise UrlRefused(f"url {url[:200]!r}: credentials in a URL are refused")
    host = parts.hostname or ""
    if not host:
        raise UrlRefused(f"url {url[:200]!r}: no host")
    if not policy.host_allowed(host):
        raise UrlRefused(f"url {url[:200]!r}: host {host!r} is not on this service's allow-list")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def _connect_checked(host: str, port: int, policy: UrlPolicy, timeout: float) -> socket.socket:
    """A socket connected to an address of `host` that the policy allows (checked on the resolved address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UrlFetchError(f"host {host!r}: cannot be resolved ({exc.strerror or exc})") from None
    refused = [info[4][0] for info in infos if not policy.address_allowed(info[4][0])]
    if refused:  # one bad address is enough: a name that points into the private network is not fetched at all
        raise UrlRefused(f"host {host!r} resolves to {refused[0]}, a loopback, link-local, private or reserved "
                         "address this service does not fetch from")
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise UrlFetchError(f"host {host!r}: cannot connect ({last})")


class _CheckedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, policy: UrlPolicy, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.policy = policy

    def connect(self) -> None:
        self.sock = _connect_checked(self.host, self.port, self.policy, self.timeout)


class _CheckedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, policy: UrlPolicy, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=policy.tls)
        self.policy = policy

    def connect(self) -> None:
        sock = _connect_checked(self.host, self.port, self.policy, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch_url(url: str, policy: UrlPolicy) -> bytes:
    """The body of `url`, fetched under `policy` (see the module docstring)."""
    deadline = time.monotonic() + policy.total_timeout
    for _ in range(policy.max_redirects + 1):
        scheme, host, port, path = _check_url(url, policy)
        left = deadline - time.monotonic()
        if left <= 0:
            raise UrlFetchError(f"url {url[:200]!r}: not fetched within {policy.total_timeout:g} s")
        kind = _CheckedHTTPS if scheme == "https" else _CheckedHTTP
        conn = kind(host, port, policy, min(policy.timeout, left))
        try:
            conn.request("GET", path, headers={"User-Agent": "intentcrop", "Accept": "image/*"})
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise UrlFetchError(f"url {url[:200]!r}: redirect {response.status} without a Location")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise UrlFetchError(f"url {url[:200]!r}: the server answered {response.status}")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                raise UrlFetchError(f"url {url[:200]!r}: {declared} bytes, more than the {policy.max_bytes} "
                                    "this service fetches")
            chunks, size = [], 0
            while True:
                if time.monotonic() > deadline:
                    raise UrlFetchError(f"url {url[:200]!r}: not fetched within {policy.total_timeout:g} s")
                chunk = response.read1(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > policy.max_bytes:
                    raise UrlFetchError(f"url {url[:200]!r}: more than the {policy.max_bytes} bytes this "
                                        "service fetches")
                chunks.append(chunk)
            return b"".join(chunks)
        except (socket.timeout, TimeoutError):
            raise UrlFetchError(f"url {url[:200]!r}: timed out") from None
        except ssl.SSLCertVerificationError as exc:
            raise UrlFetchError(f"url {url[:200]!r}: its TLS certificate is not trusted ({exc.verify_message}); "
                                "a private CA can be trusted with --url-ca FILE") from None
        except (OSError, http.client.HTTPException) as exc:
            raise UrlFetchError(f"url {url[:200]!r}: cannot fetch ({exc})") from None
        finally:
            conn.close()
    raise UrlFetchError(f"url {url[:200]!r}: more than {policy.max_redirects} redirects")
