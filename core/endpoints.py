"""The STS endpoint a profile configures, checked before any call (and any code).

botocore picks the endpoint of a client in this order (its ConfiguredEndpointProvider):
`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, `sts = endpoint_url = ...` in the profile's
`[services NAME]` section, the profile's own `endpoint_url`; none of them when
`ignore_configured_endpoint_urls` (or `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`) is true. A
value it cannot use ends in a bare ValueError deep in client creation; here it is a
configuration error that names the profile, the setting and the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from rolebar.core.errors import ConfigError


def sts_endpoint(values: Mapping[str, Any], services: Mapping[str, Any],
                 env: Mapping[str, str]) -> tuple[str, str] | None:
    """(where it is set, the URL) that botocore would use for STS, or None."""
    ignore = env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
    if ignore is None:
        ignore = values.get("ignore_configured_endpoint_urls")
    if str(ignore).strip().lower() == "true":
        return None
    section = values.get("services")
    service = services.get(section, {}) if isinstance(section, str) else {}
    sts = service.get("sts") if isinstance(service, dict) else None
    candidates = (
        ("AWS_ENDPOINT_URL_STS", env.get("AWS_ENDPOINT_URL_STS")),
        ("AWS_ENDPOINT_URL", env.get("AWS_ENDPOINT_URL")),
        (f"[services {section}] sts endpoint_url",
         sts.get("endpoint_url") if isinstance(sts, dict) else None),
        ("endpoint_url", values.get("endpoint_url")),
    )
    return next(((where, str(url)) for where, url in candidates if url), None)


def check_sts_endpoint(profile: str, values: Mapping[str, Any], services: Mapping[str, Any],
                       env: Mapping[str, str]) -> None:
    section = values.get("services")
    if isinstance(section, str) and section not in services:
        raise ConfigError(f"profile {profile}",
                          f"services = {section}, but there is no [services {section}] section")
    found = sts_endpoint(values, services, env)
    if found is None:
        return
    where, url = found
    if not _is_url(url):
        raise ConfigError(f"profile {profile}", f"{where} {url!r} is not a URL "
                          "(https://host[:port])")


# botocore's rules for an endpoint URL (utils.is_valid_endpoint_url or
# is_valid_ipv6_endpoint_url), restated with the standard library: botocore.utils costs a
# long-lived process 15 MiB, and the tray plans every profile. tests/unit/test_endpoints.py
# holds this to botocore's own functions.
_UNSAFE = frozenset("\t\r\n")  # urlsplit drops these silently; botocore refuses them
_HOSTNAME = re.compile(r"((?!-)[A-Z\d-]{1,63}(?<!-)\.)*((?!-)[A-Z\d-]{1,63}(?<!-))", re.I)
_ZONE = re.compile(r"(?:%25|%)(?:[A-Za-z0-9._~-]|%[a-fA-F0-9]{2})+")


def _is_url(url: str) -> bool:
    """An http(s) URL whose host botocore takes: a DNS name, or an IPv6 address."""
    if _UNSAFE.intersection(url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unbalanced "[" in the host
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    name = host[:-1] if host.endswith(".") else host
    return (len(host) <= 255 and _HOSTNAME.fullmatch(name) is not None) or _is_ipv6(host)


def _is_ipv6(host: str) -> bool:
    import ipaddress  # rare: most endpoints are names

    address, percent, zone = host.partition("%")
    if percent and not _ZONE.fullmatch(percent + zone):
        return False
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True
