"""Federated learning with Flower: train where the data cannot move (FedAvg, McMahan et al. 2017).

Every client keeps its own data. In each round the server sends the global weights to a
sample of clients; each trains a few local epochs on its own data and sends back only its
weights; the server averages them, weighted by the clients' sample counts (FedAvg). Only
weights cross the network: the bytes each client sends per round are the model's size.

Flower (`flwr`) does the server, the strategy and the network. This module adds what a reader
of chapter 19 needs around it:

* `iid_split` and `dirichlet_split`: how the data is spread over clients. A Dirichlet split
  (Hsu et al. 2019) draws each class's share per client from Dir(α): α = 100 is nearly IID,
  α = 0.1 gives most clients two or three classes, the hard, realistic case.
* `TorchClient`: a Flower `NumPyClient` that trains any `nn.Module` on its own tensors.
* `simulate`: Flower's own `Server` and `FedAvg` driving in-process clients, for the sweeps
  over splits (Flower's simulation engine needs Ray, which this project does not install).
* `serve` and `join`: the same client code as real processes talking gRPC to a Flower server
  (`tujie federated server` / `tujie federated client`, docs/scaling.md). A client that drops
  out mid-round is counted as a failure of that round and the others carry on.

Example:
    >>> import numpy as np
    >>> labels = np.repeat(np.arange(10), 50)  # 500 samples, 10 classes
    >>> parts = dirichlet_split(labels, num_clients=5, alpha=0.1, seed=0)
    >>> sorted(np.concatenate(parts).tolist()) == list(range(500))  # every sample, once
    True
    >>> counts = label_counts(labels, parts, 10)
    >>> bool((counts > 0).sum(axis=1).mean() < 10)  # at α = 0.1 a client sees few of the classes
    True
"""

from __future__ import annotations

import math
import os
import random
import time

import numpy as np
import torch
from flwr.client import NumPyClient
from torch import nn

from ..errors import ConfigError


# ------------------------------------------------------------------------------------- splits
def iid_split(n: int, num_clients: int, seed: int = 0) -> list[np.ndarray]:
    """Indices 0..n-1 shuffled and dealt into `num_clients` parts of (nearly) equal size."""
    _check_clients(n, num_clients)
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, num_clients)]


def dirichlet_split(labels, num_clients: int, alpha: float, seed: int = 0, min_size: int = 10,
                    max_tries: int = 1000) -> list[np.ndarray]:
    """Indices dealt to clients with each class's shares drawn from Dir(α) (Hsu et al. 2019).

    For every class, a vector p ~ Dir(α, ..., α) over the clients says what share of that
    class's samples each client gets. Small α concentrates each class on few clients. Draws are
    repeated until every client has at least `min_size` samples (as NIID-Bench does), so that
    no client is empty.

    Args:
        labels: (N,) class labels.
        alpha: the Dirichlet concentration, > 0.
    """
    labels = np.asarray(labels)
    _check_clients(len(labels), num_clients)
    if not (isinstance(alpha, (int, float)) and alpha > 0 and math.isfinite(alpha)):
        raise ConfigError(f"The Dirichlet concentration α={alpha!r} is not a positive number.",
                          expected="α > 0 (0.1: very uneven classes per client; 100: nearly IID)",
                          received=f"alpha={alpha!r}", fix="Set federated.splits to values such as [iid, 100, 1, 0.1].")
    if len(labels) < num_clients * min_size:
        raise ConfigError(f"{len(labels):,} samples cannot give {num_clients} clients {min_size} samples each.",
                          expected=f"at least {num_clients * min_size:,} samples", received=f"{len(labels):,}",
                          fix="Use fewer clients or more data (data.limit).")
    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    for _ in range(max_tries):
        parts: list[list[int]] = [[] for _ in range(num_clients)]
        for idx in by_class:
            idx = rng.permutation(idx)
            shares = rng.dirichlet(np.full(num_clients, float(alpha)))
            cuts = (np.cumsum(shares)[:-1] * len(idx)).astype(int)
            for client, chunk in enumerate(np.split(idx, cuts)):
                parts[client].extend(chunk.tolist())
        if min(len(p) for p in parts) >= min_size:
            return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]
    raise ConfigError(f"A Dirichlet split with α={alpha:g} left a client with fewer than {min_size} samples in {max_tries} draws.",
                      expected=f"every one of {num_clients} clients with ≥ {min_size} samples",
                      received=f"{len(labels):,} samples, α={alpha:g}", fix="Use fewer clients, more data or a larger α.")


def split_indices(labels, num_clients: int, split, seed: int = 0) -> list[np.ndarray]:
    """`iid` or a Dirichlet α (a number): the clients' indices."""
    if isinstance(split, str) and split.lower() == "iid":
        return iid_split(len(labels), num_clients, seed)
    return dirichlet_split(labels, num_clients, float(split), seed)


def label_counts(labels, parts: list[np.ndarray], num_classes: int) -> np.ndarray:
    """(clients, classes) how many samples of each class each client holds."""
    labels = np.asarray(labels)
    return np.stack([np.bincount(labels[p], minlength=num_classes) for p in parts])


def _check_clients(n: int, num_clients: int) -> None:
    if not isinstance(num_clients, int) or num_clients < 1 or num_clients > n:
        raise ConfigError(f"{num_clients!r} clients cannot share {n:,} samples.", expected=f"1 to {n:,} clients",
                          received=repr(num_clients), fix="Set federated.clients to a whole number such as 100.")


# ------------------------------------------------------------------------------------- weights
def get_weights(model: nn.Module) -> list[np.ndarray]:
    """The model's state (parameters and buffers, such as batch norm's running means) as NumPy arrays."""
    return [t.detach().cpu().numpy().copy() for t in model.state_dict().values()]


def set_weights(model: nn.Module, weights: list[np.ndarray]) -> None:
    """Load arrays from `get_weights` back, in the same order, refusing a different architecture."""
    state = model.state_dict()
    if len(weights) != len(state):
        raise ConfigError(f"The server sent {len(weights)} arrays; this client's model has {len(state)}.",
                          expected="the same model on the server and every client", received=f"{len(weights)} arrays",
                          fix="Start the server and the clients with the same recipe and the same --set options.")
    new = {}
    for (name, old), w in zip(state.items(), weights):
        if tuple(old.shape) != tuple(w.shape):
            raise ConfigError(f"The server's array for {name} has shape {tuple(w.shape)}; this client's is {tuple(old.shape)}.",
                              expected="the same model on the server and every client", received=str(tuple(w.shape)),
                              fix="Start the server and the clients with the same recipe and the same --set options.")
        new[name] = torch.as_tensor(w, dtype=old.dtype)
    model.load_state_dict(new)


def weight_bytes(model: nn.Module) -> int:
    """What one client uploads per round, as Flower serialises it (NumPy's .npy bytes of every array)."""
    from flwr.common import ndarrays_to_parameters

    return sum(len(t) for t in ndarrays_to_parameters(get_weights(model)).tensors)


def accuracy_and_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of `model` on (x, y)."""
    model.eval()
    correct, total_loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(x[i:i + batch_size])
            total_loss += float(nn.functional.cross_entropy(logits, y[i:i + batch_size], reduction="sum"))
            correct += int((logits.argmax(1) == y[i:i + batch_size]).sum())
    return correct / max(len(x), 1), total_loss / max(len(x), 1)


# ------------------------------------------------------------------------------------- client
class TorchClient(NumPyClient):
    """A Flower client: local SGD on its own (x, y), only weights leave it.

    Args:
        model: any `nn.Module` classifier; shared between in-process clients (they run one at a time).
        x, y: this client's data, (n, ...) and (n,).
        disconnect_in_round: drill: the process exits abruptly while training in this round, as a
            crashed machine or a pulled cable would (networked clients only).

    Example:
        >>> from torch import nn
        >>> _ = torch.manual_seed(0); model = nn.Linear(4, 3)
        >>> client = TorchClient(model, torch.randn(20, 4), torch.randint(0, 3, (20,)), batch_size=5)
        >>> weights, n, metrics = client.fit(get_weights(model), {"server_round": 1})
        >>> n, sorted(metrics)
        (20, ['loss', 'seconds'])
    """

    def __init__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int = 1, batch_size: int = 10,
                 lr: float = 0.05, momentum: float = 0.0, seed: int = 0, disconnect_in_round: int | None = None):
        self.model, self.x, self.y = model, x, y
        self.epochs, self.batch_size, self.lr, self.momentum = epochs, batch_size, lr, momentum
        self.seed, self.disconnect_in_round = seed, disconnect_in_round

    def get_parameters(self, config):
        return get_weights(self.model)

    def fit(self, parameters, config):
        started = time.perf_counter()
        server_round = int(config.get("server_round", 0))
        set_weights(self.model, parameters)
        self.model.train()
        optimizer = torch.optim.SGD(self.model.parameters(), lr=self.lr, momentum=self.momentum)
        generator = torch.Generator().manual_seed(self.seed * 100_003 + server_round)
        total, count = 0.0, 0
        for _ in range(self.epochs):
            order = torch.randperm(len(self.x), generator=generator)
            for i in range(0, len(order), self.batch_size):
                batch = order[i:i + self.batch_size]
                optimizer.zero_grad(set_to_none=True)
                loss = nn.functional.cross_entropy(self.model(self.x[batch]), self.y[batch])
                loss.backward()
                optimizer.step()
                total, count = total + float(loss.detach()) * len(batch), count + len(batch)
                if self.disconnect_in_round == server_round and count >= len(order) // 2:
                    os._exit(3)  # mid-round, no goodbye: the server sees a broken connection
        return get_weights(self.model), len(self.x), {"loss": total / max(count, 1), "seconds": time.perf_counter() - started}

    def evaluate(self, parameters, config):
        set_weights(self.model, parameters)
        acc, loss = accuracy_and_loss(self.model, self.x, self.y)
        return loss, len(self.x), {"accuracy": acc}


# ------------------------------------------------------------------------------------- server
def make_strategy(model: nn.Module, x_test: torch.Tensor, y_test: torch.Tensor, *, fraction_fit: float, min_fit_clients: int,
                  expected_clients: int, log: list, join_timeout: float = 120.0, say=None):
    """Flower's FedAvg, testing the global model on the server's test set every round; `log` gets one dict per round
    (round 0: the initial model): the clients that answered, the failures, the bytes received, the test score."""
    from flwr.common import ndarrays_to_parameters
    from flwr.server.strategy import FedAvg

    class LoggedFedAvg(FedAvg):
        def configure_fit(self, server_round, parameters, client_manager):
            if server_round == 1:  # the first round starts when everyone has joined; later ones go on with whoever is left
                client_manager.wait_for(expected_clients, timeout=join_timeout)
            return super().configure_fit(server_round, parameters, client_manager)

        def aggregate_fit(self, server_round, results, failures):
            received = sum(len(t) for _, res in results for t in res.parameters.tensors)
            log.append({"round": server_round, "clients": len(results), "failures": len(failures),
                               "bytes_received": received, "samples": sum(res.num_examples for _, res in results),
                               "train_loss": float(np.average([res.metrics.get("loss", math.nan) for _, res in results],
                                                              weights=[res.num_examples for _, res in results]))
                               if results else math.nan})
            return super().aggregate_fit(server_round, results, failures)

    def evaluate(server_round, parameters, config):
        set_weights(model, parameters)
        acc, loss = accuracy_and_loss(model, x_test, y_test)
        if server_round == 0:
            log.insert(0, {"round": 0, "test_accuracy": acc, "test_loss": loss})
        elif log and log[-1]["round"] == server_round:
            log[-1].update(test_accuracy=acc, test_loss=loss)
        if say is not None and server_round > 0:
            last = log[-1]
            say(server_round, acc, last.get("clients", 0), last.get("failures", 0))
        return loss, {"accuracy": acc}

    initial = ndarrays_to_parameters(get_weights(model))
    return LoggedFedAvg(fraction_fit=fraction_fit, fraction_evaluate=0.0, min_fit_clients=min_fit_clients,
                        min_evaluate_clients=0, min_available_clients=min_fit_clients, evaluate_fn=evaluate,
                        on_fit_config_fn=lambda r: {"server_round": r}, initial_parameters=initial,
                        fit_metrics_aggregation_fn=_weighted_loss)


def _weighted_loss(metrics: list[tuple[int, dict]]) -> dict:
    n = sum(k for k, _ in metrics)
    return {"loss": sum(k * m.get("loss", 0.0) for k, m in metrics) / max(n, 1)}


def _quiet_flower() -> None:
    """Keep the run's own lines: Flower logs every round at INFO, and prints a banner for its gRPC entry points.

    `start_server`/`start_client` are deprecated since Flower 1.13 in favour of the SuperLink and
    SuperNode commands (docs/scaling.md says when to move); they still ship and work in 1.42, and
    pyproject pins Flower below the release that may remove them.
    """
    import logging

    logger = logging.getLogger("flwr")
    logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _DeprecationBanner) for f in logger.filters):
        logger.addFilter(_DeprecationBanner())


class _DeprecationBanner:
    def filter(self, record) -> bool:
        return not str(record.msg).lstrip().startswith(("DEPRECATED FEATURE", "FEATURE UPDATE"))


def simulate(clients: list[TorchClient], model: nn.Module, x_test, y_test, *, rounds: int, fraction_fit: float = 0.1,
             seed: int = 0, say=None) -> list[dict]:
    """Run FedAvg with Flower's `Server` over in-process clients; the per-round log (round 0: the initial model).

    The clients run one at a time (they share one model object); Flower's client sampling draws
    from Python's `random`, seeded here so the same seed samples the same clients.
    """
    from flwr.common import DisconnectRes
    from flwr.server import Server, SimpleClientManager
    from flwr.server.client_proxy import ClientProxy

    class InProcess(ClientProxy):
        def __init__(self, cid, client):
            super().__init__(cid)
            self.client = client.to_client()

        def get_properties(self, ins, timeout, group_id):
            return self.client.get_properties(ins)

        def get_parameters(self, ins, timeout, group_id):
            return self.client.get_parameters(ins)

        def fit(self, ins, timeout, group_id):
            return self.client.fit(ins)

        def evaluate(self, ins, timeout, group_id):
            return self.client.evaluate(ins)

        def reconnect(self, ins, timeout, group_id):
            return DisconnectRes(reason="")

    _quiet_flower()
    manager = SimpleClientManager()
    for i, client in enumerate(clients):
        manager.register(InProcess(str(i), client))
    log: list[dict] = []
    per_round = max(1, int(round(fraction_fit * len(clients))))
    strategy = make_strategy(model, x_test, y_test, fraction_fit=fraction_fit, min_fit_clients=per_round,
                             expected_clients=len(clients), log=log, say=say)
    server = Server(client_manager=manager, strategy=strategy)
    server.set_max_workers(1)
    random.seed(seed)
    server.fit(num_rounds=rounds, timeout=None)
    return log


def serve(address: str, model: nn.Module, x_test, y_test, *, clients: int, rounds: int, min_clients: int | None = None,
          round_timeout: float | None = 600.0, join_timeout: float = 120.0, say=None) -> list[dict]:
    """A Flower server on `address` (host:port): FedAvg over every client that answers, for `rounds` rounds.

    Round 1 waits for `clients` to join; later rounds go on with at least `min_clients` (default:
    all but one), so one client dropping out does not stop the others.
    """
    from flwr.server import ServerConfig, start_server

    quorum = max(1, clients - 1) if min_clients is None else min_clients
    if not 1 <= quorum <= clients:
        raise ConfigError(f"--min-clients {quorum} is not between 1 and the {clients} clients.",
                          expected=f"1 to {clients}", received=str(quorum), fix="Lower --min-clients or raise --clients.")
    _quiet_flower()
    log: list[dict] = []
    strategy = make_strategy(model, x_test, y_test, fraction_fit=1.0, min_fit_clients=quorum, expected_clients=clients,
                             log=log, join_timeout=join_timeout, say=say)
    start_server(server_address=address, config=ServerConfig(num_rounds=rounds, round_timeout=round_timeout), strategy=strategy)
    return log


def join(address: str, client: TorchClient, *, max_wait: float = 120.0) -> None:
    """Connect `client` to the Flower server at `address` and train when asked, until the server says goodbye."""
    from flwr.compat.client.app import start_client

    _quiet_flower()
    start_client(server_address=address, client=client.to_client(), insecure=True, max_wait_time=max_wait)


def rounds_to(log: list[dict], target: float) -> int | None:
    """The first round whose global model reached `target` test accuracy, or None."""
    return next((r["round"] for r in log if r["round"] > 0 and r.get("test_accuracy", 0.0) >= target), None)
