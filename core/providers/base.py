"""What every provider shares: the protocol, the request it serves, the code rule."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from rolebar.core.codes import CodeChain, CodeRequest
from rolebar.core.credentials import Credentials, Keys
from rolebar.core.sts import CallFailed, InvalidCode

if TYPE_CHECKING:
    from rolebar.core.sts import Sts

log = logging.getLogger(__name__)

T_co = TypeVar("T_co", bound="Keys | Credentials", covariant=True)


class Provider(Protocol[T_co]):
    """One way to get credentials."""

    def retrieve(self) -> T_co: ...

    def describe(self) -> str:
        """The provider and what is behind it, for the log and tests (no secrets)."""
        ...


@dataclass
class Call:
    """One request to the engine, shared by the providers that serve it.

    The STS endpoint is built and checked on first use, which every provider makes
    before it asks for a code: a bad region is a configuration error, found before a
    code is spent. `taken` is the route and reason when they differ from the plan's.
    """

    profile: str
    make_sts: Callable[[], Sts]
    make_chain: Callable[[], CodeChain]
    taken: tuple[str, str] | None = None
    _sts: Sts | None = field(default=None, repr=False)
    _chain: CodeChain | None = field(default=None, repr=False)

    @property
    def sts(self) -> Sts:
        if self._sts is None:
            sts = self.make_sts()
            sts.check()
            self._sts = sts
        return self._sts

    @property
    def chain(self) -> CodeChain:
        if self._chain is None:
            self._chain = self.make_chain()
        return self._chain


def with_code(call: Call, device: str, send: Callable[[str], Credentials]) -> Credentials:
    """`send` with a fresh code, and once more with a new code if it failed.

    A rejected code, a 5xx, a reset or a read timeout all may have spent the code (the
    SDK never retries these calls): the guard holds it back, so the next one comes from
    the sources again (generate_token's in the next 30-second step). A fixed `-t` code
    has no successor: its failure is final.
    """
    request = CodeRequest(device, call.profile)
    code, source = call.chain.obtain(request)
    try:
        return send(code)
    except (InvalidCode, CallFailed) as exc:
        if source.on_repeat == "never":
            raise
        log.info("profile %s: the call with a code failed (%s); once more with a new code",
                 call.profile, exc.cause)
        code, _ = call.chain.obtain(request)
        return send(code)
