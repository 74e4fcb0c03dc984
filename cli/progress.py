"""Progress of a long step, for whoever reads stderr.

On a terminal a tqdm bar, redrawn in place. Elsewhere (cron, a registrar system's
scheduler, `2> log`) a bar is a stream of carriage returns and escape codes that
fills the log with redraws, so a plain line is written at each tenth of the step
instead, and one when it is done: a log then says how far a job got.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

from tqdm import tqdm

from cli.spoken import Sentence, say

T = TypeVar("T")
STEPS = 10  # plain lines per step: one at each tenth


def progress(items: Iterable[T], desc: str | Sentence, total: int, unit: str, *,
             quiet: bool = False, stream: TextIO | None = None) -> Iterator[T]:
    """`items`, reporting how far through `total` they are on `stream` (stderr): a bar
    on a terminal, a line per tenth elsewhere; nothing when `quiet`. `desc` is said in
    the running command's language (cli.spoken)."""
    out = sys.stderr if stream is None else stream
    if quiet:
        yield from items
        return
    if out.isatty():
        yield from tqdm(items, desc=say(desc), total=total, unit=unit, file=out)
        return
    yield from _plain(items, desc, total, unit, out)


def _plain(items: Iterable[T], desc: str | Sentence, total: int, unit: str, out: TextIO
           ) -> Iterator[T]:
    tenth = 0
    for done, item in enumerate(items, start=1):
        yield item
        # the tenths passed, said once each (a step shorter than ten items says fewer)
        reached = done * STEPS // total if total > 0 else STEPS
        if reached > tenth:
            tenth = reached
            percent = tenth * 100 // STEPS
            print(say(Sentence("issue.progress.line", f"{desc}: {done} of {total} {unit}s "
                               f"({percent}%)", desc=desc, done=done, total=total,
                               percent=percent)), file=out, flush=True)
