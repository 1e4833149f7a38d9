"""What goes over the wire: STS errors, parameter validation and XML shaped like AWS's."""

from __future__ import annotations

import re
import time
from xml.sax.saxutils import escape

API_VERSION = "2011-06-15"
NAMESPACE = f"https://sts.amazonaws.com/doc/{API_VERSION}/"

MSG_BAD_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
# AWS gives this for a device that is not the caller's; the double also gives it for a
# spent code.
MSG_NOT_VALIDATED = (
    "MultiFactorAuthentication failed, unable to validate MFA code.  "
    "Please verify your MFA serial number is valid and associated with this user."
)
MSG_INVALID_CLIENT = "The security token included in the request is invalid."
MSG_EXPIRED = "The security token included in the request is expired"
MSG_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


class StsError(Exception):
    """An STS error response: AWS's code, message, HTTP status and fault type."""

    def __init__(self, code: str, message: str, status: int = 400, kind: str = "Sender") -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status, self.kind = code, message, status, kind


def denied(message: str) -> StsError:
    return StsError("AccessDenied", message, 403)


# -- validation, worded like AWS's "1 validation error detected: ..." ---------------------


def check(
    errors: list[str], member: str, value: str | None, *, required: bool = False,
    lo: int | None = None, hi: int | None = None, pattern: str | None = None,
    number: bool = False, shown: bool = True,
) -> None:
    """Add the constraint violations of one parameter to ``errors``."""
    if value is None:
        if required:
            errors.append(f"Value null at '{member}' failed to satisfy constraint: "
                          "Member must not be null")
        return
    prefix = f"Value '{value if shown else '******'}' at '{member}' failed to satisfy constraint"
    if number:
        if not re.fullmatch(r"-?\d+", value, re.ASCII):
            errors.append(f"{prefix}: Member must be a number")
            return
        size, what = int(value), "value"
    else:
        size, what = len(value), "length"
    if lo is not None and size < lo:
        errors.append(f"{prefix}: Member must have {what} greater than or equal to {lo}")
    if hi is not None and size > hi:
        errors.append(f"{prefix}: Member must have {what} less than or equal to {hi}")
    # AWS checks with Java patterns, where \d and \w are ASCII only.
    if pattern is not None and not re.fullmatch(pattern, value, re.ASCII):
        errors.append(f"{prefix}: Member must satisfy regular expression pattern: {pattern}")


def check_mfa(errors: list[str], params: dict[str, str]) -> None:
    check(errors, "serialNumber", params.get("SerialNumber"), lo=9, hi=256,
          pattern=r"[\w+=/:,.@-]*")
    check(errors, "tokenCode", params.get("TokenCode"), lo=6, hi=6, pattern=r"[\d]*",
          shown=False)


def raise_if(errors: list[str]) -> None:
    if errors:
        plural = "s" if len(errors) > 1 else ""
        raise StsError("ValidationError",
                       f"{len(errors)} validation error{plural} detected: " + "; ".join(errors))


# -- XML --------------------------------------------------------------------------------------


def tags(**values: str) -> str:
    return "".join(f"<{name}>{escape(value)}</{name}>" for name, value in values.items())


def iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def response_xml(action: str, result: str, request_id: str) -> bytes:
    return (
        f'<{action}Response xmlns="{NAMESPACE}">\n'
        f"  <{action}Result>\n    {result}\n  </{action}Result>\n"
        f"  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n"
        f"</{action}Response>\n"
    ).encode()


def error_xml(error: StsError, request_id: str) -> bytes:
    inner = tags(Type=error.kind, Code=error.code, Message=error.message)
    return (
        f'<ErrorResponse xmlns="{NAMESPACE}">\n  <Error>{inner}</Error>\n'
        f"  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n"
    ).encode()
