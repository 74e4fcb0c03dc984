"""Rate limits for the replica's helpfulness, so a peer cannot make it amplify traffic."""

from consensus.types import Height, ValidatorId


class HintLimiter:
    """At most one hint of each kind per peer per `interval_ticks`; bounded by kinds × peers."""

    def __init__(self, interval_ticks: int) -> None:
        self._interval_ticks = interval_ticks
        self._last: dict[tuple[str, ValidatorId], int] = {}

    def allow(self, kind: str, peer: ValidatorId, now: int) -> bool:
        last = self._last.get((kind, peer))
        if last is not None and now - last < self._interval_ticks:
            return False
        self._last[(kind, peer)] = now
        return True


class SyncThrottle:
    """Ask the node to sync again only for a higher target, or after `retry_ticks`."""

    def __init__(self, retry_ticks: int) -> None:
        self._retry_ticks = retry_ticks
        self._target = Height(0)
        self._retry_at = 0

    def allow(self, target: Height, now: int) -> bool:
        if target <= self._target and now < self._retry_at:
            return False  # a fetch for this is already under way
        self._target = max(self._target, target)
        self._retry_at = now + self._retry_ticks
        return True
