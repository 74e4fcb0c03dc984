"""The signals that stop a running node cleanly, and the words its log says them in.

SIGTERM (systemd, kill, `scripts/testnet down`) and SIGINT (Ctrl-C) always did. SIGHUP,
which a node in the foreground gets when the terminal or SSH session it runs in closes,
ended it at once with no line at all (exit 129): its operator found the log stopped
mid-way and nothing saying why. It now stops the node as the others do, and the line
says so; a node started under nohup (SIGHUP ignored, as `scripts/testnet` starts them)
keeps ignoring it.
"""

from __future__ import annotations

import asyncio
import signal

_SAID = {signal.SIGTERM: "SIGTERM received", signal.SIGINT: "SIGINT (Ctrl-C) received",
         signal.SIGHUP: "SIGHUP received (the terminal or session it ran in closed?); "
                        "run it under systemd, or with nohup, to keep it running"}


class StopSignals:
    """An event set by the first stop signal, once `install`ed on the running loop."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._received: signal.Signals | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in _SAID:
            if sig is signal.SIGHUP and signal.getsignal(sig) is signal.SIG_IGN:
                continue  # nohup: whoever started it wants it to outlive its terminal
            loop.add_signal_handler(sig, self._stop, sig)

    def _stop(self, sig: signal.Signals) -> None:
        if self._received is None:
            self._received = sig
        self.event.set()

    def said(self) -> str:
        """Which signal stopped the node, for its 'stopping:' line."""
        return _SAID[self._received] if self._received is not None else "signal received"
