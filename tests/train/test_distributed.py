"""Training on many processes (`tujie run --nproc N`): sharding, DDP gradients, one run directory, resume, refusals.

The multi-process tests start real gloo processes with torchrun, each importing torch (about
3 s of start-up), so they are few: one gradient check, and three `tujie run` commands whose runs
the accuracy and the resume tests share.
"""

import csv
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from tujie.cli import main
from tujie.data.arrays import Batcher
from tujie.train import distributed
from tujie.train.distributed import ShardedBatcher, steps_per_epoch


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "TUJIE_LANG": "en"}


def _shards(n, batch_size, world, epochs=2, shuffle=True):
    """Every rank's batches for `epochs` epochs: [rank][epoch] -> list of index tensors."""
    out = []
    for rank in range(world):
        generator = torch.Generator().manual_seed(7)  # the same seed on every process
        batcher = ShardedBatcher(torch.arange(n), batch_size=batch_size, shuffle=shuffle, generator=generator,
                                 rank=rank, world_size=world)
        out.append([[b[0] for b in batcher] for _ in range(epochs)])
    return out


@pytest.mark.parametrize("n, batch_size, world", [(7, 2, 2), (64, 16, 2), (65, 32, 2), (66, 32, 2), (100, 8, 3), (5, 4, 3)])
def test_each_sample_once_per_epoch_over_the_ranks_and_equal_step_counts(n, batch_size, world):
    shards = _shards(n, batch_size, world)
    for epoch in range(2):
        seen = torch.cat([b for rank in range(world) for b in shards[rank][epoch]])
        assert sorted(seen.tolist()) == list(range(n))  # each sample exactly once, none dropped, none twice
        counts = {len(shards[rank][epoch]) for rank in range(world)}
        assert counts == {steps_per_epoch(n, batch_size, world)}  # every rank steps the same number of times
        assert all(len(b) > 0 for rank in range(world) for b in shards[rank][epoch])


def test_the_ranks_together_step_on_the_global_batch_of_one_process_and_reshuffle_per_epoch():
    shards = _shards(96, 16, 2, epochs=2)
    one = Batcher(torch.arange(96), batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(7))
    for epoch in range(2):
        single = [b[0] for b in one]  # one process, batch 32: the same permutation, the same global batches
        for step, batch in enumerate(single):
            together = torch.cat([shards[0][epoch][step], shards[1][epoch][step]])
            assert sorted(together.tolist()) == sorted(batch.tolist())
    assert not torch.equal(torch.cat(shards[0][0]), torch.cat(shards[0][1]))  # a new permutation each epoch


def test_a_global_batch_smaller_than_the_processes_joins_the_one_before():
    shards = _shards(65, 32, 2, epochs=1, shuffle=False)
    assert [len(b) for b in shards[0][0]] == [33] and [len(b) for b in shards[1][0]] == [32]
    with pytest.raises(Exception, match="cannot be shared by 3 processes"):
        ShardedBatcher(torch.arange(2), batch_size=4, rank=0, world_size=3)


def test_one_process_is_the_plain_path():
    assert (distributed.world_size(), distributed.rank(), distributed.is_main(), distributed.backend()) == (1, 0, True, None)
    assert distributed.broadcast("runs/x") == "runs/x"
    assert distributed.wrap(torch.nn.Linear(2, 2), torch.device("cpu")) is None
    assert distributed.average_logs({"loss": 0.25}, 8) == ({"loss": 0.25}, 8)


def test_data_that_cannot_be_sharded_is_refused_on_several_processes(monkeypatch):
    import tujie as tj

    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 2), torch.randint(0, 2, (8,))), batch_size=4)
    from tujie.errors import ConfigError

    with pytest.raises(ConfigError, match="shares out in-memory arrays only"):
        tj.Learner(torch.nn.Linear(2, 2), device="cpu").fit(loader, epochs=1, verbose=0)


WORKER = textwrap.dedent("""
    import sys, torch
    from safetensors.torch import save_file
    import tujie as tj
    from tujie.train import distributed

    with distributed.process_group():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
        g = torch.Generator().manual_seed(1)
        x, y = torch.randn(30, 5, generator=g), torch.randint(0, 3, (30,), generator=g)
        learner = tj.Learner(model, optimizer="sgd", lr=0.0, device="cpu")  # lr 0: the gradient at the start, read after
        learner.fit((x, y), epochs=1, batch_size=15, shuffle=False, verbose=0)  # one step: 2 x 15 = the 30 samples
        saved = {n: p.grad for n, p in model.named_parameters()}
        saved["logged_loss"] = torch.tensor([learner.history.epochs[-1]["loss"]], dtype=torch.float64)
        saved["ddp"] = torch.tensor([learner.ddp_model is not None])
        save_file(saved, f"{sys.argv[1]}/rank{distributed.rank()}.safetensors")
""")


def test_the_ddp_averaged_gradient_equals_the_single_process_gradient_of_the_global_batch(tmp_path):
    from safetensors.torch import load_file

    (tmp_path / "worker.py").write_text(WORKER)
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           str(tmp_path / "worker.py"), str(tmp_path)], env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [load_file(tmp_path / f"rank{r}.safetensors") for r in range(2)]

    torch.manual_seed(0)  # the same model and data on one process, the whole batch at once
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(30, 5, generator=g), torch.randint(0, 3, (30,), generator=g)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    loss = loss.item()
    for name, p in model.named_parameters():
        for r in range(2):
            torch.testing.assert_close(ranks[r][name], p.grad, atol=1e-6, rtol=0)
    for r in range(2):
        assert bool(ranks[r]["ddp"])
        # the logged training loss is all-reduced: the loss of the whole global batch on every rank
        assert abs(float(ranks[r]["logged_loss"]) - loss) < 1e-6


def _tujie(*args, timeout=180):
    done = subprocess.run([sys.executable, "-m", "tujie.cli", "run", *args, "-q"], env=_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _two_machines(*args, timeout=180):
    """`tujie run ... --nnodes 2` as two machines would start it, both here: node 0 and node 1 at 127.0.0.1."""
    import socket

    with socket.socket() as s:  # a free port for node 0's rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nodes = [subprocess.Popen([sys.executable, "-m", "tujie.cli", "run", *args, "-q", "--nproc", "1", "--nnodes", "2",
                               "--node-rank", str(r), "--master-addr", "127.0.0.1", "--master-port", str(port)],
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(2)]
    for node in nodes:
        _, err = node.communicate(timeout=timeout)
        assert node.returncode == 0, err[-3000:]


def _history(run_dir):
    with open(run_dir / "history.csv") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """digits-mlp on 2 processes of batch 16 for 2 epochs, then resumed to 3; and on 1 process of batch 32 for 3.

    The first run is started as on two machines (--nnodes 2, one process each), the resume as on
    one (--nproc 2): both ways to torchrun are taken.

    The same global batch of 32 and the same seed: the two runs see the same batches in the same
    order, so they differ only by the order of float additions (the all-reduce sums two halves).
    """
    two, one = tmp_path_factory.mktemp("two"), tmp_path_factory.mktemp("one")
    _two_machines("digits-mlp", "--set", "epochs=2", "--set", "batch_size=16", "--set", f"output_dir={two}", "--set", "run_name=ddp",
                  "--no-report")  # a report costs 5 s; rank 0 builds it as a one-process run does
    after_two = _history(two / "ddp")
    _tujie("--resume", str(two / "ddp"), "--nproc", "2", "--set", "epochs=3", "--no-report")
    assert main(["run", "digits-mlp", "--set", "epochs=3", "--set", "batch_size=32", "--set", f"output_dir={one}",
                 "--set", "run_name=one", "-q", "--no-report"]) == 0  # one process: the plain path, in this process
    return {"two": two, "one": one, "after_two": after_two}


def test_two_processes_reach_the_accuracy_of_one_with_the_same_global_batch_and_write_one_run_directory(runs):
    ddp, single = runs["two"] / "ddp", runs["one"] / "one"
    assert [p.name for p in runs["two"].iterdir()] == ["ddp"]  # one run directory, written by rank 0 only
    assert sorted(p.name for p in ddp.iterdir()) == sorted(p.name for p in single.iterdir())  # no per-rank extras
    summary, reference = (json.loads((d / "summary.json").read_text()) for d in (ddp, single))
    assert summary["distributed"] == {"processes": 2, "backend": "gloo", "batch_per_process": 16, "global_batch": 32}
    # Noise: the gradients of the two halves are summed by the all-reduce, one process sums them in
    # one matrix product; float32 rounding differs in the last bits, which after 3 epochs of Adam
    # moves a test prediction at most rarely. 0.006 is two of the 360 test images.
    assert abs(summary["test"]["accuracy"] - reference["test"]["accuracy"]) <= 0.006
    assert summary["test"]["accuracy"] > 0.8  # and it learned: 3 epochs reach about 0.9
    for ours, theirs in zip(_history(ddp), _history(single)):
        assert abs(float(ours["loss"]) - float(theirs["loss"])) < 1e-3  # the all-reduced training loss: the global batch's
        assert abs(float(ours["val_accuracy"]) - float(theirs["val_accuracy"])) <= 0.007


def test_a_resumed_two_process_run_continues_as_an_uninterrupted_one(runs):
    ddp = runs["two"] / "ddp"
    history = _history(ddp)
    assert [row["epoch"] for row in runs["after_two"]] == ["1", "2"] and [row["epoch"] for row in history] == ["1", "2", "3"]
    assert history[:2] == runs["after_two"]  # the first two epochs kept as they were
    # epoch 3 after the resume is the epoch 3 of the run that was not stopped (the one-process twin)
    assert abs(float(history[2]["loss"]) - float(_history(runs["one"] / "one")[2]["loss"])) < 1e-3
    assert json.loads((ddp / "summary.json").read_text())["epochs_done"] == 3


def _refused(args, capsys):
    code = main(["run", *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args, says", [
    (["digits-mlp", "--nproc", "0"], "--nproc"),
    (["digits-mlp", "--nproc", "2", "--node-rank", "1"], "--nnodes is not above 1"),
    (["digits-mlp", "--nproc", "2", "--master-port", "29500"], "--nnodes is not above 1"),
    (["digits-mlp", "--nnodes", "2"], "needs this machine's rank and node 0's address"),
    (["digits-mlp", "--nnodes", "2", "--node-rank", "2", "--master-addr", "10.0.0.1"], "Invalid value received for --node-rank"),
    (["digits-mlp", "--nnodes", "2", "--node-rank", "0", "--master-addr", "h", "--master-port", "70000"], "--master-port"),
    (["digits-cv", "--nproc", "2"], "trains on one process only"),
])
def test_bad_flags_are_refused_before_any_process_starts(args, says, capsys):
    code, err = _refused(args, capsys)
    assert code == 2 and says in err and "Traceback" not in err
    assert "Fix" in err or "fix" in err.lower()


def test_the_nan_guard_stops_all_processes_at_the_same_epoch_end(monkeypatch):
    """Under torchrun a process that stopped alone mid-epoch would hang the others: the guard decides at the epoch's end."""
    from types import SimpleNamespace

    from tujie.train.callbacks import NaNGuard
    from tujie.train.loop import RunningMeans

    def learner():
        running = RunningMeans()
        running.add({"loss": 1.0}, 4)
        return SimpleNamespace(running=running, sync_every=1, epoch=0, global_step=1, diverged=False, stop_training=False,
                               stop_reason=None)

    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    mine = learner()
    mine.running.add({"loss": float("nan")}, 4)
    NaNGuard().on_train_batch_end(mine, 1, {})
    assert not mine.diverged  # not mid-epoch: the other process would wait for this one's gradients
    other = learner()  # its own batches were finite, but the all-reduced epoch loss holds this one's NaN
    NaNGuard().on_epoch_end(other, 1, {"epoch": 1, "loss": float("nan")})
    NaNGuard().on_epoch_end(mine, 1, {"epoch": 1, "loss": float("nan")})
    assert other.diverged and other.stop_training and mine.diverged and "epoch 1" in other.stop_reason
