"""Replies of the double's other services: rest-json bodies and errors, pages, redirects.

The SSO portal and the OIDC service speak rest-json: errors carry their exception name in
the ``x-amzn-ErrorType`` header (botocore reads the code from there). OIDC errors also
carry the OAuth error (``invalid_grant``...) and its description in the body, as the real
service's do; portal errors carry ``message``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import string
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .sigv4 import Request

_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/"
_ALNUM = string.ascii_letters + string.digits


@dataclass
class Response:
    """One HTTP answer of a service; the server adds Content-Length."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    code: str = "OK"  # for call records: the AWS error code of an error answer


class ServiceError(Exception):
    """An error answer: AWS's exception name, message, HTTP status and OAuth error code."""

    def __init__(self, code: str, message: str, status: int = 400,
                 oauth: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status, self.oauth = code, message, status, oauth


def json_reply(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(status, json.dumps(payload).encode())


def json_error(error: ServiceError) -> Response:
    body: dict[str, Any]
    if error.oauth is not None:
        body = {"error": error.oauth, "error_description": error.message}
    else:
        body = {"message": error.message}
    return Response(error.status, json.dumps(body).encode(),
                    headers={"x-amzn-ErrorType": error.code + _ERROR_TYPE_SUFFIX},
                    code=error.code)


def page(status: int, text: str) -> Response:
    """A small HTML page (browser steps); ``text`` must already be HTML-safe."""
    html = f"<!doctype html><title>AWS double</title><p>{text}</p>\n"
    return Response(status, html.encode(), "text/html; charset=utf-8")


def plain(status: int, text: str) -> Response:
    return Response(status, (text + "\n").encode(), "text/plain; charset=utf-8")


def redirect(location: str) -> Response:
    return Response(302, b"", "text/plain", {"Location": location})


def query(request: Request) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(request.target).query, keep_blank_values=True))


def path_of(request: Request) -> str:
    return urlsplit(request.target).path


def body_json(request: Request) -> dict[str, Any]:
    """A rest-json request body; a body that is not a JSON object is a 400."""
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise ServiceError("InvalidRequestException", "Invalid request body", 400,
                           "invalid_request")
    return payload


def b64_token(prefix: str, size: int) -> str:
    """A bearer-style secret: standard base64, as real tokens are (with '+', '/', '=')."""
    return prefix + base64.b64encode(os.urandom(size)).decode()


def url_token(size: int) -> str:
    """A secret that travels in URLs (codes, sign-in tokens): letters and digits only."""
    return "".join(secrets.choice(_ALNUM) for _ in range(size))
