"""Simulator seeds run ahead in worker processes, one per core, for the parametrized tests.

pytest runs one test at a time, so the node simulator's hundreds of seeds used one of
the CI machine's two cores. Each seed is independent and deterministic: a worker runs
exactly what the test would (`NodeSimulation(seed, n).run()` or the set-change one), in
the order the tests were collected, and each test takes its own seed's outcome. A seed
that fails in a worker raises the same exception in its test, with the worker's
traceback chained to it.

The workers run niced: with two pytest workers on a 2-core machine, a third of the CPU
went idle while tests waited on node processes, sockets and a browser; the seeds take
that CPU and yield to those tests, whose waits have deadlines.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Literal

from tests.sim.node_sim import NodeSimulation, Result
from tests.sim.set_change_sim import SetChangeSimulation

Kind = Literal["node", "set-change"]
Job = tuple[Kind, int, int]  # (kind, seed, validators)
SEED_WORKER_NICENESS = 10


def run_job(job: Job) -> Result:
    kind, seed, validators = job
    # Byzantine seeds make honest nodes log every refusal (the tests' own runs are quiet too).
    logging.disable(logging.CRITICAL)
    simulation = (SetChangeSimulation(seed, validators) if kind == "set-change"
                  else NodeSimulation(seed, validators))
    return simulation.run()


class SeedsAhead:
    """Futures of every job asked for at the start; `result` waits for one of them."""

    def __init__(self, jobs: Iterable[Job], workers: int | None = None) -> None:
        count = workers or len(os.sched_getaffinity(0))
        # spawn, not fork: the pytest process has threads and open sockets of earlier tests.
        self._pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=os.nice, initargs=(SEED_WORKER_NICENESS,))
        self._futures: dict[Job, Future[Result]] = {}
        for job in jobs:
            if job not in self._futures:
                self._futures[job] = self._pool.submit(run_job, job)

    def result(self, job: Job) -> Result:
        future = self._futures.get(job)
        if future is None:  # a job not known at the start: run it now, in a worker
            future = self._futures[job] = self._pool.submit(run_job, job)
        return future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
