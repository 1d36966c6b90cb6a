"""The proxy the Bot API transport goes through: ``[telegram] proxy``, else the one the
environment asks for (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY, as curl reads them)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

#: ``socks`` is SOCKS5, as desktop proxy settings (GNOME's ALL_PROXY) write it.
PROXY_SCHEMES = ("http", "https", "socks", "socks4", "socks4a", "socks5", "socks5h")


def valid_proxy(url: str) -> bool:
    """Whether ``url`` is a proxy URL Sunbox can use (scheme, host and port)."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    return parts.scheme.lower() in PROXY_SCHEMES and bool(parts.hostname) and port is not None


def redact_proxy(url: str) -> str:
    """A proxy URL without its password, fit for a message or a log line."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _bypassed(host: str, no_proxy: str) -> bool:
    """Whether NO_PROXY (``*`` or host names and domains, commas between) names ``host``."""
    host = host.lower()
    for entry in no_proxy.replace(" ", "").lower().split(","):
        name = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
        name = name.lstrip(".")
        if entry == "*" or (name and (host == name or host.endswith("." + name))):
            return True
    return False


def proxy_from_env(env: Mapping[str, str], api_base_url: str) -> tuple[str, str] | None:
    """``(variable, url)`` of the proxy the environment asks for to reach ``api_base_url``:
    HTTPS_PROXY (or HTTP_PROXY for an http:// API), then ALL_PROXY, lower case first as
    curl reads them; None when there is none or NO_PROXY names the API's host."""
    parts = urllib.parse.urlsplit(api_base_url)
    scheme = parts.scheme.lower() or "https"
    for name in (f"{scheme}_proxy", "all_proxy"):
        for variable in (name, name.upper()):
            value = (env.get(variable) or "").strip()
            if not value:
                continue
            no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
            return None if _bypassed(parts.hostname or "", no_proxy) else (variable, value)
    return None
