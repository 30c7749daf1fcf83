"""Dynamic micro-batching: requests that wait at the same time share one forward pass.

A model answers 32 samples in one call almost as fast as one sample; thirty-two callers who
each ask for one wait thirty-two times. `MicroBatcher` puts every request on an asyncio queue;
one worker task takes the first, gathers the others waiting (for at most `max_wait_s` more,
and at most `max_batch` samples), runs the model ONCE in a worker thread (so the event loop
keeps accepting requests meanwhile) and hands each request its own rows of the answer. While
the model runs, new requests queue up, so under load batches form without any waiting:
`max_wait_s=0` (the server's default) adds no latency to a lone request.

Example:
    >>> import asyncio, numpy as np
    >>> calls = []
    >>> def predict(x):                       # (N, 2) -> (N, 2)
    ...     calls.append(len(x))
    ...     return np.asarray(x) * 2
    >>> async def main():
    ...     batcher = MicroBatcher(predict, max_batch=8, max_wait_s=0.05)
    ...     batcher.start()
    ...     answers = await asyncio.gather(*(batcher.submit(np.full((1, 2), i)) for i in range(3)))
    ...     await batcher.stop()
    ...     return [a.tolist() for a in answers]
    >>> asyncio.run(main())
    [[[0, 0]], [[2, 2]], [[4, 4]]]
    >>> calls                                 # three requests, one forward pass
    [3]
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class _Job:
    inputs: Any  # (n, *shape) array, or a list of n texts
    future: asyncio.Future
    size: int = field(init=False)

    def __post_init__(self):
        self.size = len(self.inputs)


def _join(parts: list):
    return [text for part in parts for text in part] if isinstance(parts[0], list) else np.concatenate(parts)


class MicroBatcher:
    """Gather concurrent `submit` calls into one `predict(batch)` call of at most `max_batch` samples.

    Args:
        predict: inputs (N, ...) or N texts -> probabilities (N, K); called in a worker thread.
        max_batch: most samples per forward pass (a single larger request still runs, alone).
        max_wait_s: how long the first request of a batch waits for company (0: only those already queued).
        run: `run(predict, batch)` -> awaitable probabilities: where the model runs (default: a
            worker thread, `asyncio.to_thread`; the server passes its one model thread).

    Attributes:
        batch_sizes: the number of samples of every forward pass so far (for tests and /metadata).
    """

    def __init__(self, predict: Callable[[Any], np.ndarray], max_batch: int, max_wait_s: float = 0.0,
                 run: Callable[..., Awaitable] = asyncio.to_thread):
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.predict, self.max_batch, self.max_wait_s, self.run = predict, int(max_batch), float(max_wait_s), run
        self.batch_sizes: list[int] = []
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task | None = None
        self._carry: _Job | None = None  # a job that would have overfilled the last batch: first in the next
        self._running: list[_Job] = []  # the batch in the model now

    def start(self) -> None:
        """Start the worker on the running event loop (the server's lifespan calls this)."""
        self._queue = asyncio.Queue()
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="tujie-micro-batcher")

    async def stop(self) -> None:
        """Stop the worker; requests still waiting are cancelled."""
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        for job in [self._carry, *self._running, *self._drain()]:
            if job is not None and not job.future.done():
                job.future.cancel()
        self._carry = None

    def _drain(self) -> list[_Job]:
        jobs = []
        while self._queue is not None and not self._queue.empty():
            jobs.append(self._queue.get_nowait())
        return jobs

    async def submit(self, inputs) -> np.ndarray:
        """Queue `inputs` (n samples) and wait for their probabilities (n, K)."""
        if self._queue is None:
            raise RuntimeError("MicroBatcher.submit before start(): the server's lifespan did not run")
        job = _Job(inputs, asyncio.get_running_loop().create_future())
        await self._queue.put(job)
        return await job.future

    async def _gather(self) -> list[_Job]:
        """The next batch: the first waiting job, then whoever arrives within max_wait_s, up to max_batch."""
        loop = asyncio.get_running_loop()
        first, self._carry = (self._carry, None) if self._carry is not None else (await self._queue.get(), None)
        jobs, count = [first], first.size
        deadline = loop.time() + self.max_wait_s
        while count < self.max_batch:
            try:
                job = self._queue.get_nowait()  # already waiting: no need to sleep
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
            if count + job.size > self.max_batch:
                self._carry = job
                break
            jobs.append(job)
            count += job.size
        return jobs

    async def _run(self) -> None:
        while True:
            jobs = [job for job in await self._gather() if not job.future.cancelled()]  # a client may have gone
            if not jobs:
                continue
            self._running = jobs
            batch = _join([job.inputs for job in jobs])
            self.batch_sizes.append(len(batch))
            try:
                probabilities = await self.run(self.predict, batch)  # (N, K), off the event loop
            except Exception as error:  # noqa: BLE001 - every request of the batch gets the error, the worker lives on
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(error)
                continue
            start = 0
            for job in jobs:
                if not job.future.done():
                    job.future.set_result(probabilities[start:start + job.size])
                start += job.size
