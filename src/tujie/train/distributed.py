"""Training on many processes: torchrun starts them, DistributedDataParallel keeps their models equal.

`tujie run RECIPE --nproc 2` calls `launch`, which hands the same command (without `--nproc`) to
torchrun's own entry point (`torch.distributed.run`). torchrun starts the processes and gives each
its place in the environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT);
`process_group` reads it and joins them (gloo on CPUs, nccl on GPUs). From then on:

- every process holds the whole model; `wrap` puts it in `DistributedDataParallel`, which starts
  them from rank 0's weights and averages the gradients during `backward`, so every optimizer
  step is the same step everywhere;
- `ShardedBatcher` gives each process its share of every global batch: one permutation per epoch,
  drawn from the same seed on every process, cut into global batches of `batch_size * world_size`;
- `average_logs` all-reduces the epoch's training means (weighted by sample counts), so every
  process logs the numbers of the whole global batch;
- only rank 0 (`is_main`) writes files and prints.

`batch_size` is per process (PyTorch DDP's and Lightning's convention): 2 processes with batch_size=32
step on a global batch of 64.

Example:
    >>> world_size(), rank(), is_main()  # a plain process: one of one
    (1, 0, True)
    >>> [len(b[0]) for b in ShardedBatcher(torch.arange(10), batch_size=2, rank=1, world_size=2)]
    [2, 2, 1]
"""

from __future__ import annotations

import contextlib
import os
import signal

import torch
import torch.distributed as dist

from ..data.arrays import Batcher
from ..errors import ConfigError, DataError


def world_size() -> int:
    """How many processes train together (1 outside torchrun)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's number among them, 0 .. world_size() - 1 (0 outside torchrun)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """True on the process that writes the run directory and prints (rank 0)."""
    return rank() == 0


def backend() -> str | None:
    """"gloo", "nccl" (with gloo for CPU tensors) or None when not distributed."""
    if world_size() == 1:
        return None
    return "nccl" if "nccl" in str(dist.get_backend()) else "gloo"


@contextlib.contextmanager
def process_group():
    """Join the processes torchrun started (WORLD_SIZE > 1 in the environment); a no-op otherwise.

    gloo on CPUs. With GPUs, nccl for CUDA tensors (gloo still for CPU ones: the epoch's numbers, a
    recipe with `device: cpu`), and each process on its own GPU (cuda:LOCAL_RANK), so that "cuda"
    in a recipe means this process's GPU.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        yield
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def broadcast(value):
    """Rank 0's `value` (any picklable object, e.g. the run directory's path) on every process."""
    if world_size() == 1:
        return value
    box = [value if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module | None:
    """The model in `DistributedDataParallel` when training on several processes, else None.

    The caller keeps the plain model for saving (checkpoints without DDP's `module.` prefix),
    evaluation and prediction; only the training forward goes through the wrapper, since that
    is where DDP hooks the gradient averaging into `backward`.
    """
    if world_size() == 1 or not any(p.requires_grad for p in model.parameters()):
        return None
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def average_logs(means: dict, count: int) -> tuple[dict, int]:
    """The epoch's training means over all processes, weighted by their sample counts; and the total count.

    `<key>_max` values (the largest gradient norm) take the maximum instead. Every process
    must call it with the same keys (they run the same code on the same model).

    Example:
        >>> average_logs({"loss": 0.5, "grad_norm_max": 2.0}, 32)  # one process: as it is
        ({'loss': 0.5, 'grad_norm_max': 2.0}, 32)
    """
    if world_size() == 1:
        return means, count
    keys = sorted(k for k, v in means.items() if isinstance(v, (int, float)))
    weighted = [k for k in keys if not k.endswith("_max")]
    sums = torch.tensor([means[k] * count for k in weighted] + [float(count)], dtype=torch.float64)  # (K + 1,)
    maxima = torch.tensor([means[k] for k in keys if k.endswith("_max")] or [0.0], dtype=torch.float64)  # CPU: gloo sums them
    dist.all_reduce(sums)
    dist.all_reduce(maxima, op=dist.ReduceOp.MAX)
    sums, maxima = sums.tolist(), maxima.tolist()
    total = sums[-1]
    out = {k: s / max(total, 1.0) for k, s in zip(weighted, sums)}
    out.update(zip([k for k in keys if k.endswith("_max")], maxima))
    return {k: out.get(k, v) for k, v in means.items()}, int(total)


def steps_per_epoch(num_samples: int, batch_size: int, processes: int | None = None) -> int:
    """Optimizer steps per epoch when `processes` share global batches of `batch_size * processes`.

    A last global batch smaller than the number of processes joins the one before it (see
    `ShardedBatcher`), so it adds no step.

    Example:
        >>> steps_per_epoch(65, 32, 2), steps_per_epoch(66, 32, 2), steps_per_epoch(65, 32, 1)
        (1, 2, 3)
    """
    processes = world_size() if processes is None else processes
    full, rest = divmod(num_samples, batch_size * processes)
    return max(full + (1 if rest >= processes else 0), 1)


_rank, _world_size = rank, world_size  # for ShardedBatcher, whose arguments bear the same names


class ShardedBatcher(Batcher):
    """One process's share of every global batch, for training on several processes.

    Every process draws the same permutation (the same seeded generator, advanced once per
    epoch everywhere), cuts it into global batches of `batch_size * world_size`, and takes every
    `world_size`-th sample of each, starting at its rank. So each sample is seen once per epoch
    over all processes, and the processes together step on exactly the global batch one process
    would with `batch_size * world_size`. The last, smaller global batch is split as evenly
    (shares differ by at most one sample); when it holds fewer samples than there are processes,
    some would get none, so it joins the batch before it. Every process thus takes the same
    number of steps, which DDP needs: a process with one batch more would wait forever for the
    others' gradients.

    Args:
        tensors: tensors sharing their first dimension (the whole training set, on every process).
        batch_size: samples per process per step.
        shuffle: a fresh permutation every epoch.
        generator: seeded the same on every process.
        rank, world_size: this process's place (default: read from the process group).

    Example:
        >>> b = ShardedBatcher(torch.arange(7), batch_size=2, rank=0, world_size=2)
        >>> [t[0].tolist() for t in b]  # global batches [0..3], [4, 5, 6]
        [[0, 2], [4, 6]]
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int = 32, shuffle: bool = False,
                 generator: torch.Generator | None = None, rank: int | None = None, world_size: int | None = None):
        super().__init__(*tensors, batch_size=batch_size, shuffle=shuffle, generator=generator)
        self.rank = _rank() if rank is None else rank
        self.world_size = _world_size() if world_size is None else world_size
        if self.num_samples < self.world_size:
            raise DataError(f"{self.num_samples} training samples cannot be shared by {self.world_size} processes.",
                            expected=f"at least one sample per process ({self.world_size})", received=f"{self.num_samples} samples",
                            fix="Train on one process (--nproc 1), or on more data.")

    def __len__(self) -> int:
        return steps_per_epoch(self.num_samples, self.batch_size, self.world_size)

    def __iter__(self):
        n, step = self.num_samples, self.batch_size * self.world_size
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)  # (n,), equal on all ranks
        starts = list(range(0, n, step))[:len(self)]  # the last start is dropped when that batch joins the one before
        for i, start in enumerate(starts):
            stop = n if i == len(starts) - 1 else start + step
            index = order[start:stop][self.rank::self.world_size]  # (~batch_size,): this process's share
            yield tuple([t[index] for t in self.tensors])


def check_shardable(data) -> None:
    """Refuse training data that cannot be shared out by rank (a loader, a stream, a text bucket batcher)."""
    from ..data.arrays import ArrayDataset

    if world_size() > 1 and not isinstance(data, (ArrayDataset, tuple)):
        raise ConfigError("Training on several processes shares out in-memory arrays only.",
                          expected="training data as (x, y) tensors or an ArrayDataset (image and tabular recipes)",
                          received=f"{type(data).__name__} on {world_size()} processes",
                          fix="Train this recipe on one process (--nproc 1).")


def launch(command: list[str], *, nproc: int, nnodes: int = 1, node_rank: int = 0, master_addr: str | None = None,
           master_port: int | None = None) -> int:
    """Start `python -m tujie.cli <command>` on `nproc` processes with torchrun; their exit code.

    One machine: torchrun's `--standalone` (it picks a free port). Several: every machine runs
    the same command with its own `node_rank`, all naming node 0's address and port.

    Example:
        >>> launch(["run", "digits-mlp"], nproc=2)  # doctest: +SKIP
        0
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    if nnodes == 1:
        where = ["--standalone"]
    else:
        where = ["--nnodes", str(nnodes), "--node-rank", str(node_rank), "--master-addr", master_addr,
                 "--master-port", str(master_port or 29500)]
    args = parse_args(["--nproc-per-node", str(nproc), *where, "-m", "tujie.cli", *command])
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads is None:  # torchrun would set 1 thread per process, with a warning; say it ourselves: the cores shared out
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // nproc))
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        run(args)
    except ChildFailedError as e:  # the process said why on stderr already; its code is the run's
        _, failure = e.get_first_failure()
        return failure.exitcode if failure.exitcode and failure.exitcode > 0 else 1
    finally:  # called in-process (tests, a notebook): leave the environment and torchrun's signal handlers behind
        if threads is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        for s, handler in handlers.items():
            if handler is not None:  # None: a handler not set from Python, nothing to put back
                signal.signal(s, handler)
    return 0
