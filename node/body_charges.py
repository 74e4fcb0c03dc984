"""What a public request body costs while it is read, when it declares no length.

A body with a Content-Length is charged that length before it is read (the byte rate,
the route's bytes in flight: `node.api_public`). One sent chunked declares nothing, and
was charged its route's whole limit: 16 MiB for an anchored document, eight times the
2 MiB byte-rate burst, so such a body was refused 429 with a Retry-After after which it
was refused the same way, and a chunked submission was answered busy whenever another
large body was being read. Such a body is charged here by the bytes that arrive, piece
by piece as `node.http_limits.read_body` reads them, so no more is held than was
charged, and it still ends at the route's limit (413) and BODY_READ_TIMEOUT_S (408). So
is a compressed one, whose declared length is not what aiohttp inflates it to as it is
read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from node.client_limits import ARRIVING_HELD_MAX_S, ARRIVING_WAIT_MAX_S, ClientLimits, Decision
from node.http_limits import http_error


@dataclass
class InFlight:
    count: int = 0


async def no_charge(size: int) -> None:
    """For a body charged before it was read."""


class ArrivingBytes:
    """A body counted against its route's bytes in flight as it arrives: its first
    `small` bytes count for nothing (as a small declared body, they never wait); from
    there, all it has read. Refused (`busy()`) when that would take the count past
    `most` while other bodies hold some of it: as with declared lengths, one always
    gets in. `release()` gives back what it counted, once it is answered."""

    def __init__(self, in_flight: InFlight, small: int, most: int,
                 busy: Callable[[], web.HTTPException]) -> None:
        self._in_flight = in_flight
        self._small = small
        self._most = most
        self._busy = busy
        self.read = 0
        self.counted = 0

    async def __call__(self, size: int) -> None:
        self.read += size
        if self.read <= self._small:
            return
        more = self.read - self.counted
        held_by_others = self._in_flight.count - self.counted
        if held_by_others and self._in_flight.count + more > self._most:
            raise self._busy()
        self._in_flight.count += more
        self.counted += more

    def release(self) -> None:
        self._in_flight.count -= self.counted
        self.counted = 0


class ArrivingRate:
    """A client's byte rate (`kind` in `node.client_limits.RATES`), charged by each
    piece of a body as it arrives: the reading is held back until the client's tokens
    cover it (as a slow network would), so a body within the burst always passes. A
    body past the burst could never be charged at once (`too_large(burst)`, a 413), and
    one that would be held back longer than ARRIVING_WAIT_MAX_S for a piece, or
    ARRIVING_HELD_MAX_S in all, because other bodies of the same client took the tokens,
    is refused with a Retry-After after which a body within the burst fits again
    (`refused(decision)`, a 429), never cut off by BODY_READ_TIMEOUT_S for the node's
    waiting."""

    def __init__(self, limits: ClientLimits, address: str, kind: str,
                 too_large: Callable[[int], web.HTTPException],
                 refused: Callable[[Decision], Awaitable[web.HTTPException]],
                 pause: Callable[[float], Awaitable[None]]) -> None:
        self._limits = limits
        self._address = address
        self._kind = kind
        self._too_large = too_large
        self._refused = refused
        self._pause = pause
        self.read = 0
        self.held_s = 0.0

    async def __call__(self, size: int) -> None:
        self.read += size
        burst = self._limits.never_fits(self._address, self._kind, self.read)
        if burst is not None:
            raise self._too_large(int(burst))
        decision = self._limits.charge(self._address, self._kind, size,
                                       min(ARRIVING_WAIT_MAX_S,
                                           ARRIVING_HELD_MAX_S - self.held_s))
        if decision.retry_after_s is not None:
            raise await self._refused(decision)
        if decision.delay_s:
            self.held_s += decision.delay_s
            await self._pause(decision.delay_s)


def beyond_burst(path: str, kind: str, burst: int, rate: float,
                 size: int | None = None) -> web.HTTPException:
    """413 for a body no wait would let this client send: larger than the burst of its
    byte rate, the most it may send at once (the route's own limit may be larger; an
    exempt address is held to that one alone)."""
    said = "" if size is None else f" ({size} bytes)"
    return http_error(web.HTTPRequestEntityTooLarge, "body_too_large",
                      f"request body{said} exceeds {burst} bytes for {path}: the most "
                      f"one address may send at once ({round(rate)} {kind} a second)",
                      params={"limit": burst}, max_size=burst,
                      actual_size=size if size is not None else burst + 1,
                      headers={"Connection": "close"})
