"""Imported first by the VC pool's fork server (`node.vc_common`): it ignores SIGINT.

A Ctrl-C at the daemon's terminal reaches its whole process group, the fork server too,
which took it as a KeyboardInterrupt, with a traceback in the daemon's output, while it
imported its other preloaded modules (a second or more); it ignores SIGINT only once its
loop starts. The daemon stops in its own time; the fork server ends when it does.
Imports nothing else, so that it comes before any slow import.
"""

from __future__ import annotations

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
