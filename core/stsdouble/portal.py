"""The IAM Identity Center portal (``sso``, rest-json): GetRoleCredentials, ListAccounts,
ListAccountRoles and Logout, each with the bearer token in ``x-amz-sso_bearer_token``.

An unknown, expired or logged-out token is ``UnauthorizedException`` (401); an account or
role not assigned to the signed-in person is ``ForbiddenException`` "No access" (403), as
the real portal answers. Role credentials go into the double's own key store, so its STS
accepts them (GetCallerIdentity, AssumeRole for chaining) until they expire. Behind each
permission set is a role ``aws-reserved/sso.amazonaws.com/AWSReservedSSO_NAME_<hex>``.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .jsonwire import ServiceError
from .model import Keys, Role, User, key_id, secret_key, session_token
from .ssotokens import SsoSettings, TokenStore

_ACCOUNT = re.compile(r"\d{12}")
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,32}")
_MAX_RESULTS = 100


@dataclass
class Account:
    account_id: str
    name: str
    email: str
    roles: dict[str, Role] = field(default_factory=dict)  # permission set name -> role


class Portal:
    """Assignments of the signed-in person and the portal's operations (under the lock)."""

    def __init__(self, settings: SsoSettings, tokens: TokenStore, keys: dict[str, Keys],
                 remember: Callable[[list[str]], None]) -> None:
        self.settings, self.tokens = settings, tokens
        self._keys, self._remember = keys, remember
        self.accounts: dict[str, Account] = {}
        self._users: dict[str, User] = {}

    def add_account(self, account_id: str, name: str | None = None, roles: tuple[str, ...] = (),
                    email: str | None = None) -> Account:
        """Assign an account (and permission sets in it) to the signed-in person."""
        if _ACCOUNT.fullmatch(account_id) is None:
            raise ValueError(f"not an account id: {account_id!r}")
        account = self.accounts.setdefault(account_id, Account(
            account_id, name or f"account-{account_id}", email or f"aws+{account_id}@example.com"))
        for role in roles:
            self.add_role(account_id, role)
        return account

    def add_role(self, account_id: str, name: str) -> Role:
        if _ROLE_NAME.fullmatch(name) is None:
            raise ValueError(f"not a permission set name: {name!r}")
        account = self.add_account(account_id) if account_id not in self.accounts \
            else self.accounts[account_id]
        if name not in account.roles:
            arn = (f"arn:aws:iam::{account_id}:role/aws-reserved/sso.amazonaws.com/"
                   f"AWSReservedSSO_{name}_{secrets.token_hex(8)}")
            account.roles[name] = Role(arn, False, 43200, None, True, key_id("AROA", 21))
        return account.roles[name]

    # -- operations --

    def get_role_credentials(self, bearer: str | None, query: dict[str, str]) -> dict[str, Any]:
        self.tokens.check(bearer)
        account_id, name = _required(query, "account_id"), _required(query, "role_name")
        account = self.accounts.get(account_id)
        role = account.roles.get(name) if account is not None else None
        if role is None:
            raise ServiceError("ForbiddenException", "No access", 403)
        expires = float(math.ceil(time.time()) + self.settings.role_lifetime)
        keys = Keys(key_id("ASIA"), secret_key(), self._user(account_id), session_token(),
                    expires, False, role, self.settings.user_name)
        assert keys.token is not None
        self._keys[keys.access_key_id] = keys
        self._remember([keys.secret, keys.token])
        return {"roleCredentials": {
            "accessKeyId": keys.access_key_id, "secretAccessKey": keys.secret,
            "sessionToken": keys.token, "expiration": int(expires * 1000)}}

    def list_accounts(self, bearer: str | None, query: dict[str, str]) -> dict[str, Any]:
        self.tokens.check(bearer)
        rows = [{"accountId": a.account_id, "accountName": a.name, "emailAddress": a.email}
                for a in sorted(self.accounts.values(), key=lambda a: a.account_id)]
        page, next_token = _page(rows, query)
        return {"accountList": page, **next_token}

    def list_account_roles(self, bearer: str | None, query: dict[str, str]) -> dict[str, Any]:
        self.tokens.check(bearer)
        account = self.accounts.get(_required(query, "account_id"))
        if account is None:
            raise ServiceError("ForbiddenException", "No access", 403)
        rows = [{"roleName": name, "accountId": account.account_id}
                for name in sorted(account.roles)]
        page, next_token = _page(rows, query)
        return {"roleList": page, **next_token}

    def logout(self, bearer: str | None) -> None:
        self.tokens.logout(bearer)

    def _user(self, account_id: str) -> User:
        """The signed-in person as the double's key store knows principals."""
        name = self.settings.user_name
        user = self._users.get(f"{account_id}/{name}")
        if user is None:
            user = User(name, account_id, key_id("AIDA", 21), "", "", None, None)
            self._users[f"{account_id}/{name}"] = user
        return user


def _page(rows: list[dict[str, str]], query: dict[str, str]
          ) -> tuple[list[dict[str, str]], dict[str, str]]:
    """One page of ``rows`` from ``next_token`` (opaque) and ``max_result``."""
    try:
        size = int(query.get("max_result") or _MAX_RESULTS)
        start = int(base64.b64decode(query["next_token"], validate=True)) \
            if query.get("next_token") else 0
    except (ValueError, binascii.Error):
        raise ServiceError("InvalidRequestException", "Invalid pagination parameters",
                           400) from None
    if not 1 <= size <= _MAX_RESULTS or not 0 <= start <= len(rows):
        raise ServiceError("InvalidRequestException", "Invalid pagination parameters", 400)
    end = start + size
    more = {"nextToken": base64.b64encode(str(end).encode()).decode()} if end < len(rows) else {}
    return rows[start:end], more


def _required(query: dict[str, str], name: str) -> str:
    value = query.get(name)
    if not value:
        raise ServiceError("InvalidRequestException", f"{name} is required", 400)
    if name == "account_id" and _ACCOUNT.fullmatch(value) is None:
        raise ServiceError("InvalidRequestException", "Invalid account id", 400)
    return value
