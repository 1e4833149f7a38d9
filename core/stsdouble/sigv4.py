"""Server-side SigV4: recompute a request's signature from the secret and compare.

Follows the spec, not one SDK: header names are matched case-insensitively, values trimmed
with inner whitespace collapsed, repeated headers joined with commas, the query re-encoded
and sorted, and only the headers the client listed in SignedHeaders take part. So botocore,
the AWS CLI and the JavaScript SDK v3 verify alike whatever their casing, order or charset.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from .wire import MSG_BAD_SIGNATURE, StsError

ALGORITHM = "AWS4-HMAC-SHA256"
CLOCK_SKEW = 15 * 60  # seconds X-Amz-Date may differ from now
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Request:
    """One HTTP request as received: the request-target keeps the raw query."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """A header by lower-case name; repeated headers joined with commas."""
        found = [value for key, value in self.headers if key.lower() == name]
        return ",".join(found) if found else None

    def params(self) -> dict[str, str]:
        """Query API parameters: the query string, then a form-encoded body."""
        pairs = parse_qsl(self.target.partition("?")[2], keep_blank_values=True)
        kind = (self.header("content-type") or "").split(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            pairs += parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return dict(pairs)


@dataclass(frozen=True)
class Authorization:
    key_id: str
    scope: list[str]  # date, region, service, "aws4_request"
    signed_headers: list[str]
    signature: str


def parse_authorization(header: str) -> Authorization:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise StsError("IncompleteSignature", f"Unsupported AWS 'algorithm': '{algorithm}'")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name] = value.strip()
    for name in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(name):
            raise StsError("IncompleteSignature",
                           f"Authorization header requires '{name}' parameter.")
    key_id, _, scope = fields["Credential"].partition("/")
    signed = [name.strip().lower() for name in fields["SignedHeaders"].split(";")]
    return Authorization(key_id, scope.split("/"), signed, fields["Signature"].lower())


def key_id_of(request: Request) -> str | None:
    """The access key id an Authorization header names, unverified (for call records)."""
    match = re.search(r"Credential=([^/,\s]+)/", request.header("authorization") or "")
    return match.group(1) if match else None


def _uri_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_request(request: Request, signed_headers: Sequence[str]) -> str:
    path, _, query = request.target.partition("?")
    # The path arrives URI-encoded once; SigV4 (outside S3) encodes it once more.
    canonical_uri = quote(path or "/", safe="/~")
    pairs = sorted(
        (_uri_encode(k), _uri_encode(v)) for k, v in parse_qsl(query, keep_blank_values=True)
    )
    values: dict[str, list[str]] = {}
    for name, value in request.headers:
        values.setdefault(name.lower(), []).append(" ".join(value.split()))
    if any(name not in values for name in signed_headers):
        raise StsError("SignatureDoesNotMatch", MSG_BAD_SIGNATURE, 403)
    return "\n".join((
        request.method,
        canonical_uri,
        "&".join(f"{k}={v}" for k, v in pairs),
        "".join(f"{name}:{','.join(values[name])}\n" for name in signed_headers),
        ";".join(signed_headers),
        hashlib.sha256(request.body).hexdigest(),
    ))


def signature(secret: str, amz_date: str, scope: Sequence[str], canonical: str) -> str:
    key = f"AWS4{secret}".encode()
    for part in scope:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = "\n".join((ALGORITHM, amz_date, "/".join(scope), digest))
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def check_scope(auth: Authorization, amz_date: str | None, service: str = "sts") -> str:
    """Reject a malformed scope or date before any key is looked up; return X-Amz-Date."""
    if len(auth.scope) != 4 or auth.scope[3] != "aws4_request":
        raise StsError("IncompleteSignature", "Credential should be scoped to a valid region.")
    if auth.scope[2] != service:
        raise StsError("SignatureDoesNotMatch",
                       f"Credential should be scoped to correct service: '{service}'.", 403)
    if "host" not in auth.signed_headers:
        raise StsError("IncompleteSignature", "'Host' or ':authority' must be a "
                       "'SignedHeader' in the AWS Authorization.")
    if amz_date is None:
        raise StsError("IncompleteSignature", "Authorization header requires existence of "
                       "either a 'X-Amz-Date' or a 'Date' header.")
    if auth.scope[0] != amz_date[:8]:
        raise StsError("SignatureDoesNotMatch", "Date in Credential scope does not match "
                       "YYYYMMDD from ISO-8601 version of date from HTTP: "
                       f"'{auth.scope[0]}' != '{amz_date[:8]}', from '{amz_date}'.", 403)
    return amz_date


def check_signature(request: Request, auth: Authorization, amz_date: str, secret: str) -> None:
    expected = signature(secret, amz_date, auth.scope,
                         canonical_request(request, auth.signed_headers))
    if not hmac.compare_digest(expected, auth.signature):
        raise StsError("SignatureDoesNotMatch", MSG_BAD_SIGNATURE, 403)


def check_clock(amz_date: str, now: float) -> None:
    """X-Amz-Date must be within 15 minutes of now, worded as AWS words it."""
    try:
        sent = float(calendar.timegm(time.strptime(amz_date, _AMZ_DATE)))
    except ValueError:
        raise StsError("IncompleteSignature", "Date must be in ISO-8601 'basic format'.") from None

    def fmt(moment: float) -> str:
        return time.strftime(_AMZ_DATE, time.gmtime(moment))

    if sent < now - CLOCK_SKEW:
        raise StsError("SignatureDoesNotMatch", f"Signature expired: {amz_date} is now earlier "
                       f"than {fmt(now - CLOCK_SKEW)} ({fmt(now)} - 15 min.)", 403)
    if sent > now + CLOCK_SKEW:
        raise StsError("SignatureDoesNotMatch", f"Signature not yet current: {amz_date} is "
                       f"still later than {fmt(now + CLOCK_SKEW)} ({fmt(now)} + 15 min.)", 403)
