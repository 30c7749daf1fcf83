"""The `federated` kind: FedAvg through Flower over clients whose data never moves (chapter 19).

1. **Split** the training set over `federated.clients` clients, once per entry of
   `federated.splits`: `iid` (shuffled and dealt), or a Dirichlet α (Hsu et al. 2019: α = 100
   nearly IID, α = 1 uneven, α = 0.1 most clients hold two or three classes).
2. **Federate**: Flower's `Server` and `FedAvg` run `rounds` rounds; each samples
   `fraction_fit` of the clients, which train `local_epochs` of SGD on their own data and send
   back only their weights; the server averages them and tests the global model (every split
   starts from the same initial weights).
3. **Centralise** for comparison: the same model, trained with the same SGD on all the data in
   one place, tested after as many samples as one round's clients see together.
4. **Report** test accuracy against rounds per split beside the centralised line, rounds to
   `target_accuracy`, the bytes every client sends, and each split's class mix per client.

The same clients also run as real processes over the network: `tujie federated server RECIPE`
and `tujie federated client RECIPE --partition i` (docs/scaling.md); `serve_recipe` and
`join_recipe` below are what those commands call.

Writes federated.json. Recipe: mnist-federated.

Example:
    >>> from tujie import kinds
    >>> kinds.get("federated").section
    'federated'
"""

from __future__ import annotations

import math
import time

from pydantic import Field

from .._io import write_json
from ..config import Float, Int, Strict
from ..errors import ConfigError
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _img, _section, _table
from ..report.run_files import RunFiles
from ..utils import one_thread
from . import Kind, RunContext, register


class FederatedConfig(Strict):
    clients: Int = Field(100, ge=1, description="clients the training set is split over")
    fraction_fit: Float = Field(0.1, gt=0.0, le=1.0, description="share of the clients that train in each round (McMahan et al.'s C)")
    rounds: Int = Field(50, ge=1, description="communication rounds per split")
    local_epochs: Int = Field(1, ge=1, description="epochs each client trains on its own data per round (E)")
    batch_size: Int = Field(10, ge=1, description="the clients' batch size (B)")
    lr: Float = Field(0.05, gt=0.0, description="SGD's learning rate, on the clients and in the centralised model")
    momentum: Float = Field(0.0, ge=0.0, lt=1.0)
    splits: list[str | Float] = Field(["iid", 100.0, 1.0, 0.1], min_length=1,
                                      description="iid, or a Dirichlet α per split (smaller: more uneven classes per client)")
    target_accuracy: Float = Field(0.97, gt=0.0, le=1.0, description="the report counts the rounds to this test accuracy")
    centralised_rounds: Int | None = Field(None, ge=0, description="round equivalents of the centralised model (None: rounds; 0: skip)")


def _label(split) -> str:
    return "IID" if str(split).lower() == "iid" else f"α = {float(split):g}"


def _key(split) -> str:
    return "iid" if str(split).lower() == "iid" else "alpha_" + f"{float(split):g}".replace(".", "_")


def _check(section: FederatedConfig, data) -> None:
    bad = [s for s in section.splits if isinstance(s, str) and s.lower() != "iid"]
    if bad:
        raise ConfigError(f"federated.splits has {bad[0]!r}, which is neither iid nor a number.",
                          expected="iid, or a Dirichlet α > 0 such as 100, 1 or 0.1", received=f"splits={section.splits}",
                          fix="Write the splits as [iid, 100, 1, 0.1].")
    if getattr(data, "task", None) != "classification":
        raise ConfigError(f"The federated kind trains classifiers; {getattr(data, 'name', '?')} is not a classification dataset.",
                          expected="a classification dataset (mnist, fashion-mnist, digits, ...)",
                          received=f"data.name={getattr(data, 'name', '?')}", fix="Set data.name to a classification dataset.")


def _make_model(config, data, seed_fn):
    from ._common import build_model

    seed_fn()
    model = build_model(config, data)
    model(data.train.x[:2])  # sizes lazy layers, so every client and the server hold the same arrays
    return model


def _client(section: FederatedConfig, model, x, y, seed: int, disconnect_in_round=None):
    from ..trust.federated import TorchClient

    return TorchClient(model, x, y, epochs=section.local_epochs, batch_size=section.batch_size, lr=section.lr,
                       momentum=section.momentum, seed=seed, disconnect_in_round=disconnect_in_round)


def run(context: RunContext) -> dict:
    """Federate once per split, train the centralised model, write federated.json."""
    from ..trust import federated as fl

    config, say = context.config, context.say
    section = config.federated or FederatedConfig()
    data = context.data
    _check(section, data)
    x, y = data.train.x, data.train.y
    x_test, y_test = data.test.x, data.test.y
    fl.split_indices(y.numpy(), section.clients, section.splits[0], config.seed)  # an impossible split fails before the run dir
    data, run_dir = context.open()
    started = time.perf_counter()
    classes = data.classes or [str(c) for c in range(data.num_classes)]
    runs = []
    with one_thread():
        for split in section.splits:
            parts = fl.split_indices(y.numpy(), section.clients, split, config.seed)
            model = _make_model(config, data, context.seed)  # the same initial weights for every split
            clients = [_client(section, model, x[p], y[p], config.seed + i) for i, p in enumerate(parts)]
            label = _label(split)

            def progress(r, acc, ok, failed, label=label):
                if r == 1 or r % 10 == 0 or r == section.rounds:
                    say(_("{split}, round {round}: test accuracy {accuracy} ({clients} clients)").format(
                        split=label, round=r, accuracy=f"{100 * acc:.2f}%", clients=ok))

            t0 = time.perf_counter()
            log = fl.simulate(clients, model, x_test, y_test, rounds=section.rounds, fraction_fit=section.fraction_fit,
                              seed=config.seed, say=progress)
            upload = fl.weight_bytes(model)
            runs.append({"split": split if isinstance(split, str) else float(split), "label": label,
                         "rounds": log, "seconds": time.perf_counter() - t0,
                         "client_samples": [len(p) for p in parts],
                         "label_counts": fl.label_counts(y.numpy(), parts, len(classes)).tolist(),
                         "rounds_to_target": fl.rounds_to(log, section.target_accuracy),
                         "bytes_per_upload": upload,
                         "bytes_sent_total": sum(r.get("bytes_received", 0) for r in log)})
        central = _centralised(context, section, data, x, y, x_test, y_test, say)
    participating = max(1, round(section.fraction_fit * section.clients))
    write_json(run_dir / "federated.json", {
        "model": config.model.name, "dataset": config.data.name, "classes": classes, "train_samples": len(x),
        "test_samples": len(x_test), "settings": section.model_dump(), "clients_per_round": participating,
        "splits": runs, "centralised": central})
    results = {}
    for r in runs:
        final = r["rounds"][-1].get("test_accuracy", math.nan)
        results[f"fed_accuracy_{_key(r['split'])}"] = final
        results[f"fed_rounds_to_target_{_key(r['split'])}"] = r["rounds_to_target"]
    if central:
        results["fed_centralised_accuracy"] = central["history"][-1][1]
    if runs:
        results["fed_bytes_per_upload"] = runs[0]["bytes_per_upload"]
    return {"results": results, "timings": {"total_s": time.perf_counter() - started}}


def _centralised(context, section, data, x, y, x_test, y_test, say) -> dict | None:
    """The same model and SGD on all the data, tested after as many samples as one round's clients train on."""
    import torch
    from torch import nn

    from ..trust.federated import accuracy_and_loss

    rounds = section.rounds if section.centralised_rounds is None else section.centralised_rounds
    if rounds == 0:
        return None
    model = _make_model(context.config, data, context.seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=section.lr, momentum=section.momentum)
    per_round = max(1, round(section.fraction_fit * section.clients)) * len(x) // section.clients * section.local_epochs
    generator = torch.Generator().manual_seed(context.config.seed)
    order, cursor = torch.randperm(len(x), generator=generator), 0
    history = [(0, accuracy_and_loss(model, x_test, y_test)[0])]
    t0 = time.perf_counter()
    for r in range(1, rounds + 1):
        model.train()
        for _step in range(0, per_round, section.batch_size):
            if cursor >= len(order):
                order, cursor = torch.randperm(len(x), generator=generator), 0
            batch = order[cursor:cursor + section.batch_size]
            cursor += len(batch)
            optimizer.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
        history.append((r, accuracy_and_loss(model, x_test, y_test)[0]))
    say(_("Centralised, {rounds} round equivalents: test accuracy {accuracy}").format(
        rounds=rounds, accuracy=f"{100 * history[-1][1]:.2f}%"))
    return {"history": history, "samples_per_round": per_round, "seconds": time.perf_counter() - t0,
            "rounds_to_target": next((r for r, a in history if r > 0 and a >= section.target_accuracy), None)}


# ------------------------------------------------------------------------- networked processes
def _network_data(config):
    from ._common import load_data

    section = config.federated or FederatedConfig()
    data = load_data(config)
    _check(section, data)
    return section, data


def serve_recipe(config, *, address: str, clients: int, rounds: int | None = None, min_clients: int | None = None,
                 say=None) -> list[dict]:
    """`tujie federated server`: a Flower server that tests the global model on the recipe's test set each round."""
    from ..trust.federated import serve
    from ..utils import seed_everything

    section, data = _network_data(config)
    model = _make_model(config, data, lambda: seed_everything(config.seed))

    def progress(r, acc, ok, failed):
        if say is not None:
            say(_("Round {round}: test accuracy {accuracy} from {clients} clients, {failures} failed").format(
                round=r, accuracy=f"{100 * acc:.2f}%", clients=ok, failures=failed))

    with one_thread():
        return serve(address, model, data.test.x, data.test.y, clients=clients, rounds=rounds or section.rounds,
                     min_clients=min_clients, say=progress)


def join_recipe(config, *, address: str, partition: int, clients: int, split: str = "iid",
                disconnect_in_round: int | None = None) -> None:
    """`tujie federated client`: partition `partition` of `clients` of the recipe's training set, trained when the server asks."""
    from ..trust.federated import join, split_indices
    from ..utils import seed_everything

    section, data = _network_data(config)
    if not 0 <= partition < clients:
        raise ConfigError(f"--partition {partition} is not one of the {clients} clients' partitions.",
                          expected=f"0 to {clients - 1}", received=str(partition), fix="Give each client process its own --partition.")
    # every process draws the same seeded split and keeps its own part: the stand-in for data that lives on this machine
    part = split_indices(data.train.y.numpy(), clients, split, config.seed)[partition]
    model = _make_model(config, data, lambda: seed_everything(config.seed))
    with one_thread():
        join(address, _client(section, model, data.train.x[part], data.train.y[part], config.seed + partition,
                              disconnect_in_round))


# ----------------------------------------------------------------------------------- report
def _pct(value) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{100 * value:.2f}%"


def _size(n) -> str:
    n = float(n or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


def _tail_mean(values, n: int = 10) -> float:
    """The mean of the last `n` rounds' accuracies (round 0 left out): one number that a jumpy curve does not flip."""
    tail = [v for v in values[1:] if v is not None][-n:]
    return sum(tail) / len(tail) if tail else math.nan


def _rounds_section(run: RunFiles) -> str:
    from ..plots.federated import accuracy_over_rounds

    d = run.federated
    s = d.get("settings") or {}
    target = s.get("target_accuracy", 0.97)
    central = d.get("centralised") or {}
    how = _("Test accuracy of the global model after every round, one line per way of splitting the data over {clients} "
            "clients; in each round {per_round} of them train {epochs} local epoch(s) with batch {batch} and send back "
            "their weights, which the server averages (FedAvg). The dashed line is the same model trained on all the data "
            "in one place, tested after as many samples as one round's clients see together. The more uneven the classes "
            "per client (smaller α), the more the clients' updates pull apart and the slower the average learns.").format(
        clients=_e(s.get("clients")), per_round=_e(d.get("clients_per_round")), epochs=_e(s.get("local_epochs")),
        batch=_e(s.get("batch_size")))
    curves = {r.get("label", "?"): [(x["round"], x.get("test_accuracy")) for x in r.get("rounds") or []
                                    if x.get("test_accuracy") is not None] for r in d.get("splits") or []}
    figure = _img(accuracy_over_rounds(curves, central.get("history"), target), _("test accuracy against rounds"))

    never = _("not within {rounds} rounds").format(rounds=s.get("rounds"))

    rows = []
    for r in d.get("splits") or []:
        last = (r.get("rounds") or [{}])[-1]
        reached = r.get("rounds_to_target")
        rows.append([_e(r.get("label")), _e(reached if reached is not None else never), _e(_pct(last.get("test_accuracy"))),
                     _e(_pct(_tail_mean([x.get("test_accuracy") for x in r.get("rounds") or []]))),
                     _e(_size(r.get("bytes_per_upload"))), _e(_size(r.get("bytes_sent_total"))), _e(f"{r.get('seconds', math.nan):.0f}")])
    if central:
        reached = central.get("rounds_to_target")
        rows.append([_e(_("centralised")), _e(reached if reached is not None else never),
                     _e(_pct(central["history"][-1][1])), _e(_pct(_tail_mean([a for _r, a in central["history"]]))), "", "",
                     _e(f"{central.get('seconds', math.nan):.0f}")])
    table = _table([_("split"), _("rounds to {target}").format(target=f"{100 * target:g}%"), _("final test accuracy"),
                    _("mean of the last 10 rounds"), _("each client sends per round"), _("sent by all clients"), _("seconds")],
                   rows, "numbers")
    return _section("federated-rounds", _("Accuracy against rounds"), how, figure + table)


def _split_section(run: RunFiles) -> str:
    import numpy as np

    from ..plots.federated import client_classes

    d = run.federated
    splits = d.get("splits") or []
    how = _("What each client holds: the class mix of the first 20 clients (each bar one client, colours the classes) for "
            "every split. IID clients all look like the whole dataset; at α = 0.1 most clients hold two or three classes, "
            "which is what real devices look like: a phone's photos are not a random sample of everyone's.")
    counts = {r.get("label", "?"): np.asarray(r.get("label_counts") or [[0]]) for r in splits}
    sizes = [[_e(r.get("label")), _e(min(r.get("client_samples") or [0])), _e(f"{np.median(r.get('client_samples') or [0]):.0f}"),
              _e(max(r.get("client_samples") or [0])),
              _e(f"{np.mean([(np.asarray(c) > 0).sum() for c in r.get('label_counts') or [[0]]]):.1f}")] for r in splits]
    table = _table([_("split"), _("smallest client"), _("median client"), _("largest client"), _("classes per client (mean)")],
                   sizes, "numbers")
    return _section("federated-split", _("How the data is spread over clients"), how,
                    _img(client_classes(counts, d.get("classes") or []), _("class mix per client")) + table)


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    d = run.federated
    out = [(_pct((r.get("rounds") or [{}])[-1].get("test_accuracy")), _("{split} after {rounds} rounds").format(
        split=r.get("label"), rounds=(d.get("settings") or {}).get("rounds"))) for r in (d.get("splits") or [])[:3]]
    central = d.get("centralised")
    if central:
        out.append((_pct(central["history"][-1][1]), _("centralised")))
    return out


def _facts(run: RunFiles) -> list[str]:
    d = run.federated
    s = d.get("settings") or {}
    return [_("{model} on {dataset}: {n} training samples over {clients} clients, FedAvg through Flower").format(
        model=d.get("model"), dataset=d.get("dataset"), n=f"{d.get('train_samples', 0):,}", clients=s.get("clients"))]


def _has(run: RunFiles) -> bool:
    return run.federated is not None


REPORT = KindReport("federated", files=("federated.json",), result_file="federated.json",
                    missing={"federated.json": N_("the federated runs' results")},
                    sections=(Section("federated-rounds", N_("Accuracy against rounds"), _rounds_section, _has, order=63),
                              Section("federated-split", N_("How the data is spread over clients"), _split_section, _has, order=64)),
                    headline=_headline, facts=_facts)
register(Kind("federated", run, N_("federated learning (FedAvg through Flower) over IID and non-IID clients, beside centralised training"),
              section="federated", config=FederatedConfig, report=REPORT, order=82,
              smoke=("mnist-federated", ("limit=600", "federated.clients=4", "federated.fraction_fit=0.5", "federated.rounds=2",
                                         "federated.splits=[iid,0.5]", "federated.centralised_rounds=1")),
              smoke_needs_data=True))
