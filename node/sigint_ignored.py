"""Imported first by the VC pool's fork server (`node.vc_common`): it ignores SIGINT.

A Ctrl-C at the daemon's terminal reaches its whole process group, the fork server too,
which took it as a KeyboardInterrupt, with a traceback in the daemon's output, while it
imported its other preloaded modules (a second or more); it ignores SIGINT only once its
loop starts. The daemon starts it with SIGINT blocked (`node.sigint_blocked`), so that a
Ctrl-C before this module (while its interpreter starts) waits, and is dropped here. The
daemon stops in its own time; the fork server ends when it does. Imports nothing slow,
so that it comes before any slow import.
"""

from __future__ import annotations

from node.sigint_blocked import ignore_sigint

ignore_sigint()
