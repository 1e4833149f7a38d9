"""The double itself: who may call what, which credentials come back, and the fault switch."""

from __future__ import annotations

import hmac
import math
import re
import threading
import time
import uuid

from . import sigv4, wire
from .faults import FAULT_ERRORS, FaultSwitch
from .model import Call, Keys, Role, User, key_id, secret_key, session_token
from .server import Server
from .services import Services
from .totp import decode_secret, hotp, new_secret, step_at
from .wire import StsError, denied

ACTIONS = ("GetSessionToken", "AssumeRole", "GetCallerIdentity")
CHAINING_LIMIT = 3600  # STS caps a role assumed with role credentials at one hour
_ANY_ARN = re.compile(r"arn:[\w-]+:[\w-]*:[\w-]*:[\w-]*:.+")

Reply = tuple[int, bytes, str]  # HTTP status, XML body, request id


class StsDouble:
    """STS on 127.0.0.1: ``start()`` returns the endpoint for ``AWS_ENDPOINT_URL_STS``.

    ``role_lifetime`` and ``session_lifetime`` (seconds) cap the credentials it issues, so
    tests can make 20-second roles and 3-minute MFA sessions; both may change while it runs.
    All state sits behind one lock; every connection is served on its own thread.
    """

    def __init__(self, role_lifetime: int = 3600, session_lifetime: int = 43200,
                 port: int = 0, stall_seconds: float = 5.0) -> None:
        self.role_lifetime = role_lifetime
        self.session_lifetime = session_lifetime
        self.stall_seconds = stall_seconds
        self.port = port
        self._lock = threading.RLock()
        self._keys: dict[str, Keys] = {}
        self._roles: dict[str, Role] = {}
        self._devices: dict[str, User] = {}
        self._used_steps: dict[str, set[int]] = {}
        self._codes_seen: dict[str, list[str]] = {}
        self._counts = dict.fromkeys(ACTIONS, 0)
        self._calls: list[Call] = []
        self._secrets: list[str] = []
        self.faults = FaultSwitch(self._lock)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.services = Services(self)  # sso-oidc, sso, signin, iam on the same port

    # -- setup --

    def add_user(self, name: str = "member", account: str = "000000000000",
                 mfa: bool = True) -> User:
        """An IAM user with long-term keys and a virtual MFA device ``arn:...:mfa/NAME``."""
        user = User(
            name=name, account=account, user_id=key_id("AIDA", 21),
            access_key_id=key_id("AKIA"), secret_access_key=secret_key(),
            mfa_serial=f"arn:aws:iam::{account}:mfa/{name}" if mfa else None,
            totp_secret=new_secret() if mfa else None,
        )
        with self._lock:
            self._keys[user.access_key_id] = Keys(user.access_key_id, user.secret_access_key,
                                                  user)
            self._secrets.append(user.secret_access_key)
            if user.mfa_serial is not None:
                self._devices[user.mfa_serial] = user
        return user

    def add_role(self, arn: str, *, require_mfa: bool = True, max_session_duration: int = 3600,
                 external_id: str | None = None, allow_session_route: bool = True) -> Role:
        """Register a role; ValueError if ``arn`` is not a role ARN.

        ``require_mfa``: the caller must pass a code or hold MFA-authenticated credentials.
        ``allow_session_route=False``: MFA-session callers must pass a fresh code anyway.
        """
        role = Role(arn, require_mfa, max_session_duration, external_id, allow_session_route,
                    key_id("AROA", 21))
        with self._lock:
            self._roles[arn] = role
        return role

    # -- running --

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        """Serve on 127.0.0.1 (the same port again after ``stop()``); return the endpoint."""
        if self._server is None:
            self.faults.wake.clear()
            self._server = Server(("127.0.0.1", self.port), self)
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"stsdouble-{self.port}", daemon=True,
            )
            self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        """Close the port and every open connection: clients then get "connection refused"."""
        server, self._server = self._server, None
        if server is None:
            return
        self.faults.wake.set()
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> StsDouble:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults --

    def inject(self, fault: str, count: int | None = None, seconds: float | None = None) -> None:
        """Make the next ``count`` requests (all, if None) meet ``fault`` (see faults.py)."""
        self.faults.inject(fault, count, seconds)

    def clear(self) -> None:
        """Remove every injected fault and release stalled requests."""
        self.faults.clear()

    def _take_faults(self) -> tuple[float | None, str | None, threading.Event]:
        return self.faults.take(self.stall_seconds)

    # -- introspection --

    @property
    def counts(self) -> dict[str, int]:
        """Successful calls per action."""
        with self._lock:
            return dict(self._counts)

    @property
    def codes_seen(self) -> dict[str, list[str]]:
        """Per MFA serial, every code presented, in order, accepted or not."""
        with self._lock:
            return {serial: list(codes) for serial, codes in self._codes_seen.items()}

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def secrets(self) -> list[str]:
        """Every secret access key and session token registered or issued, for leak hunts."""
        with self._lock:
            return list(self._secrets)

    # -- serving --

    def handle(self, request: sigv4.Request) -> Reply | None:
        """Answer one STS request, or None to drop the connection."""
        request_id = str(uuid.uuid4())
        params = request.params()
        action, caller = params.get("Action", ""), sigv4.key_id_of(request)
        stall, fault, wake = self._take_faults()
        if stall is not None:
            wake.wait(stall)
        answered = fault != "reset-after"  # else the caller never sees the reply below
        try:
            if fault == "reset":
                self._record(action, caller, "reset")
                return None
            if fault in FAULT_ERRORS:
                raise StsError(*FAULT_ERRORS[fault])
            with self._lock:
                result = self._dispatch(action, params, self._authenticate(request))
                self._counts[action] += 1
                self._record(action, caller, "OK", answered)
            reply: Reply = 200, wire.response_xml(action, result, request_id), request_id
        except StsError as error:
            self._record(action, caller, error.code, answered)
            reply = error.status, wire.error_xml(error, request_id), request_id
        return reply if answered else None

    def _record(self, action: str, caller: str | None, code: str, answered: bool = True) -> None:
        with self._lock:
            self._calls.append(Call(action, caller, code, answered))

    def _authenticate(self, request: sigv4.Request, service: str = "sts") -> Keys:
        header = request.header("authorization")
        if header is None:
            raise StsError("MissingAuthenticationToken", "Missing Authentication Token", 403)
        auth = sigv4.parse_authorization(header)
        amz_date = sigv4.check_scope(auth, request.header("x-amz-date"), service)
        keys = self._keys.get(auth.key_id) or self.services.iam.settle(auth.key_id)
        if keys is None:
            raise StsError("InvalidClientTokenId", wire.MSG_INVALID_CLIENT, 403)
        token = request.header("x-amz-security-token")
        if keys.token is None or token is None:
            token_ok = keys.token is None and token is None
        else:
            token_ok = hmac.compare_digest(keys.token, token)
        if not token_ok:
            raise StsError("InvalidClientTokenId", wire.MSG_INVALID_CLIENT, 403)
        now = time.time()
        if keys.expires is not None and now >= keys.expires:
            raise StsError("ExpiredToken", wire.MSG_EXPIRED)
        sigv4.check_signature(request, auth, amz_date, keys.secret)
        sigv4.check_clock(amz_date, now)
        return keys

    def _dispatch(self, action: str, params: dict[str, str], keys: Keys) -> str:
        if params.get("Version") != wire.API_VERSION or action not in ACTIONS:
            version = params.get("Version", "NO_VERSION_SPECIFIED")
            raise StsError("InvalidAction", f"Could not find operation {action} for version "
                           f"{version}")
        if action == "GetSessionToken":
            return self._get_session_token(params, keys)
        if action == "AssumeRole":
            return self._assume_role(params, keys)
        return wire.tags(**keys.identity())

    # -- MFA --

    def _check_code(self, serial: str, code: str, owner: User) -> None:
        """Accept a code once: the owner's device, within ±1 step of now, not yet spent."""
        self._codes_seen.setdefault(serial, []).append(code)
        if self._devices.get(serial) is not owner or owner.totp_secret is None:
            raise denied(wire.MSG_NOT_VALIDATED)
        key, now = decode_secret(owner.totp_secret), step_at(time.time())
        steps = {s for s in (now - 1, now, now + 1) if hmac.compare_digest(hotp(key, s), code)}
        if not steps:
            raise denied(wire.MSG_BAD_CODE)
        used = self._used_steps.setdefault(serial, set())
        if steps & used:
            raise denied(wire.MSG_NOT_VALIDATED)
        used |= steps

    def _code_in_call(self, params: dict[str, str], keys: Keys) -> bool:
        """Check SerialNumber+TokenCode if the call has them; True once a code is accepted."""
        serial, code = params.get("SerialNumber"), params.get("TokenCode")
        if serial is None and code is None:
            return False
        if serial is None or code is None:
            raise denied(wire.MSG_BAD_CODE)
        self._check_code(serial, code, keys.user)
        return True

    # -- actions --

    def _issue(self, caller: Keys, lifetime: int, mfa: bool, role: Role | None = None,
               session_name: str | None = None) -> str:
        """New temporary keys, as the <Credentials> element that returns them."""
        # Whole seconds, never shorter than granted: the Expiration returned is what counts.
        expires = float(math.ceil(time.time()) + lifetime)
        keys = Keys(key_id("ASIA"), secret_key(), caller.user, session_token(), expires, mfa,
                    role, session_name, role is not None and caller.role is not None)
        assert keys.token is not None
        self._keys[keys.access_key_id] = keys
        self._secrets += [keys.secret, keys.token]
        credentials = wire.tags(AccessKeyId=keys.access_key_id, SecretAccessKey=keys.secret,
                                SessionToken=keys.token, Expiration=wire.iso(expires))
        if role is None:
            return f"<Credentials>{credentials}</Credentials>"
        user = wire.tags(Arn=keys.arn, AssumedRoleId=f"{role.role_id}:{session_name}")
        return f"<AssumedRoleUser>{user}</AssumedRoleUser><Credentials>{credentials}</Credentials>"

    def _get_session_token(self, params: dict[str, str], keys: Keys) -> str:
        if keys.token is not None:
            raise denied("Cannot call GetSessionToken with session credentials")
        errors: list[str] = []
        wire.check(errors, "durationSeconds", params.get("DurationSeconds"), lo=900, hi=129600,
                   number=True)
        wire.check_mfa(errors, params)
        wire.raise_if(errors)
        mfa = self._code_in_call(params, keys)
        duration = int(params.get("DurationSeconds", "43200"))
        return self._issue(keys, min(duration, self.session_lifetime), mfa)

    def _assume_role(self, params: dict[str, str], keys: Keys) -> str:
        arn, name = params.get("RoleArn"), params.get("RoleSessionName")
        errors: list[str] = []
        wire.check(errors, "roleArn", arn, required=True, lo=20, hi=2048)
        wire.check(errors, "roleSessionName", name, required=True, lo=2, hi=64,
                   pattern=r"[\w+=,.@-]*")
        wire.check(errors, "durationSeconds", params.get("DurationSeconds"), lo=900, hi=43200,
                   number=True)
        wire.check(errors, "externalId", params.get("ExternalId"), lo=2, hi=1224,
                   pattern=r"[\w+=,.@:/-]*")
        wire.check_mfa(errors, params)
        wire.raise_if(errors)
        assert arn is not None and name is not None
        if _ANY_ARN.fullmatch(arn) is None:
            raise StsError("ValidationError", "Request ARN is invalid")
        refusal = denied(f"User: {keys.arn} is not authorized to perform: sts:AssumeRole "
                         f"on resource: {arn}")
        role = self._roles.get(arn)
        if role is None:
            raise refusal
        code_given = self._code_in_call(params, keys)
        mfa = code_given or keys.mfa
        if role.external_id is not None and params.get("ExternalId") != role.external_id:
            raise refusal
        if role.require_mfa and not mfa:
            raise refusal
        if not role.allow_session_route and keys.token is not None and keys.mfa and not code_given:
            raise refusal  # as a trust policy with a short aws:MultiFactorAuthAge would
        duration = int(params.get("DurationSeconds", "3600"))
        if keys.role is not None and duration > CHAINING_LIMIT:
            raise StsError("ValidationError", "The requested DurationSeconds exceeds the 1 hour "
                           "session limit for roles assumed by role chaining.")
        if duration > role.max_session_duration:
            raise StsError("ValidationError", "The requested DurationSeconds exceeds the "
                           "MaxSessionDuration set for this role.")
        return self._issue(keys, min(duration, self.role_lifetime), mfa, role, name)
