"""The `graph` kind: node classification on a citation graph (Cora, Planetoid split) over seeds, GCN or GAT.

1. **Load** the graph (`tujie.graphs.planetoid`): 2,708 papers, 5,278 citation links, 1,433 word
   features, 7 subjects; 140 nodes labelled for training, 500 for validation, 1,000 for testing.
2. **Train** the recipe's model (`model.name`: gcn or gat) full-batch once per seed with the
   paper's optimiser and early stopping (`tujie.graphs.node_classification`).
3. **Report** the test accuracy of every seed, their mean ± std beside the published figure
   (Kipf & Welling 2017: 81.5%; Veličković et al. 2018: 83.0%), the training curves, and a
   t-SNE map of the first seed's hidden-layer embeddings coloured by class.

Writes graph.json and the first seed's weights (graph_weights.safetensors). Recipes: cora-gcn, cora-gat.

Example:
    >>> from tujie import kinds
    >>> kinds.get("graph").section
    'graph'
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Literal

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

# the published test accuracy on Cora's Planetoid split, by model
PUBLISHED = {"gcn": (0.815, "Kipf & Welling, ICLR 2017, Table 2"),
             "gat": (0.830, "Veličković et al., ICLR 2018, Table 2 (83.0 ± 0.7%)")}


class GraphConfig(Strict):
    dataset: Literal["cora"] = Field("cora", description="a Planetoid citation graph")
    seeds: Int = Field(10, ge=1, description="training runs, seeds seed, seed+1, ...")
    epochs: Int = Field(200, ge=1, description="the most epochs per run (full-batch: one step per epoch)")
    lr: Float = Field(0.01, gt=0.0, description="Adam's learning rate (GCN 0.01, GAT 0.005)")
    weight_decay: Float = Field(5e-4, ge=0.0)
    decay: Literal["first_layer", "all"] = Field("first_layer", description="weight decay on the first layer (GCN) or all (GAT)")
    stopping: Literal["kipf", "gat", "none"] = Field("kipf", description="early stopping: GCN's window rule, GAT's patience rule")
    patience: Int = Field(10, ge=1, description="the early-stopping window (GCN 10, GAT 100)")
    embedding: Literal["tsne", "pca"] = Field("tsne", description="how the hidden embeddings are drawn in 2-D")


def run(context: RunContext) -> dict:
    """Train the model once per seed; write graph.json and the first seed's weights."""
    from ..graphs.node_classification import hidden_embeddings, project_2d, train_node_classifier
    from ..graphs.planetoid import load_planetoid
    from ..models import create
    from ..train.checkpoint import save_weights

    config, say = context.config, context.say
    section = config.graph or GraphConfig()
    name = config.model.name
    if name not in PUBLISHED:
        raise ConfigError(f"The graph kind trains a node classifier; model {name!r} is not one.",
                          expected=f"model.name one of {', '.join(PUBLISHED)}", received=f"model.name={name!r}",
                          fix="Set model: {name: gcn} or {name: gat}.")
    graph = load_planetoid(section.dataset, data_dir=config.data.data_dir)
    options = dict(config.model.model_extra or {})

    def make_model():
        return create(name, num_classes=graph.num_classes, in_features=graph.x.shape[1], **options)

    started = time.perf_counter()
    runs, first = [], None
    with one_thread():  # one small graph, one step per epoch: threads cost more than they give
        for i in range(section.seeds):
            result = train_node_classifier(graph, make_model, epochs=section.epochs, lr=section.lr,
                                           weight_decay=section.weight_decay, decay=section.decay,
                                           stopping=section.stopping, patience=section.patience, seed=config.seed + i)
            model = result.pop("model")
            first = first or model
            runs.append(result)
            say(_("seed {seed}: test accuracy {accuracy} after {epochs} epochs ({seconds} s)").format(
                seed=result["seed"], accuracy=f"{100 * result['test_accuracy']:.1f}%", epochs=result["epochs"],
                seconds=f"{result['seconds']:.1f}"))
        say(_("Drawing the hidden embeddings in 2-D ({method})").format(method=section.embedding))
        points = project_2d(hidden_embeddings(first, graph), section.embedding, seed=config.seed)  # (num_nodes, 2)
    accuracies = [r["test_accuracy"] for r in runs]
    mean, std = statistics.fmean(accuracies), statistics.pstdev(accuracies)
    published, source = PUBLISHED[name]
    run_dir = context.run_dir
    save_weights(run_dir / "graph_weights.safetensors", first, {"model": name, "dataset": section.dataset, "seed": config.seed})
    write_json(run_dir / "graph.json", {
        "dataset": {"name": graph.name, "nodes": graph.num_nodes, "undirected_edges": graph.num_undirected_edges,
                    "features": int(graph.x.shape[1]), "classes": list(graph.classes), "train": int(graph.train_mask.sum()),
                    "validation": int(graph.val_mask.sum()), "test": int(graph.test_mask.sum())},
        "model": {"name": name, "options": options, "parameters": sum(p.numel() for p in first.parameters())},
        "settings": section.model_dump(), "published": {"value": published, "source": source},
        "runs": runs, "test_accuracy_mean": mean, "test_accuracy_std": std,
        "embedding": {"method": section.embedding, "seed": config.seed, "labels": graph.y.tolist(),
                      "points": [[round(float(a), 3), round(float(b), 3)] for a, b in points.tolist()]}})
    say(_("Test accuracy over {n} seeds: {mean} ± {std} (published: {published})").format(
        n=len(runs), mean=f"{100 * mean:.2f}%", std=f"{100 * std:.2f}", published=f"{100 * published:.1f}%"))
    return {"results": {"test_accuracy_mean": mean, "test_accuracy_std": std,
                        "val_accuracy_mean": statistics.fmean(r["val_accuracy"] for r in runs),
                        "published_test_accuracy": published},
            "timings": {"total_s": time.perf_counter() - started,
                        "seconds_per_seed": statistics.fmean(r["seconds"] for r in runs)}}


# ----------------------------------------------------------------------------------- report
_MODELS = {"gcn": N_("graph convolutional network (GCN)"), "gat": N_("graph attention network (GAT)")}


def _runs(run: RunFiles) -> list:
    runs = run.graph.get("runs")
    if not isinstance(runs, list) or not runs:
        raise ValueError("graph.json's runs must be a non-empty list")
    return runs


def _mono(value) -> str:
    return f'<span class="mono">{_e(value)}</span>'


def _accuracy_section(run: RunFiles) -> str:
    from ..plots.graphs import seed_accuracies

    g, runs = run.graph, _runs(run)
    published = g.get("published") or {}
    how = _("Test accuracy on the {test} test nodes of every seed (a seed fixes the initial weights and the dropout "
            "masks; the graph and its split never change), their mean ± standard deviation, and the published "
            "figure ({source}). A mean within one or two points of the published one reproduces the paper; the "
            "spread over seeds shows how much a single run can be trusted.").format(
        test=_e((g.get("dataset") or {}).get("test", "?")), source=_mono(published.get("source", "?")))
    figure = _img(seed_accuracies([r["test_accuracy"] for r in runs], published.get("value"),
                                  title=N_("test accuracy per seed")), _("test accuracy per seed"))
    rows = [[_e(r.get("seed")), _e(f"{100 * r.get('test_accuracy', math.nan):.1f}%"),
             _e(f"{100 * r.get('val_accuracy', math.nan):.1f}%"), _e(r.get("epochs")), _e(r.get("best_epoch")),
             _e(f"{r.get('seconds', math.nan):.1f}")] for r in runs]
    footer = [_("mean ± std"), _e(f"{100 * g.get('test_accuracy_mean', math.nan):.2f} ± {100 * g.get('test_accuracy_std', math.nan):.2f}%"),
              "", "", "", ""]
    table = _table([_("seed"), _("test accuracy"), _("validation accuracy"), _("epochs trained"), _("epoch of the weights tested"),
                    _("seconds")], rows, "numbers", footer=footer)
    return _section("graph-accuracy", _("Test accuracy over seeds"), how, figure + table)


def _curves_section(run: RunFiles) -> str:
    from ..plots.graphs import curves_over_seeds

    runs = _runs(run)
    settings = run.graph.get("settings") or {}
    rule = {"kipf": _("the run stops once the validation loss rises above its mean over the previous {patience} epochs "
                      "(Kipf & Welling's rule)"),
            "gat": _("the run stops after {patience} epochs in which neither the validation loss nor the validation "
                     "accuracy improved, and the weights of the best epoch are tested (Veličković et al.'s rule)"),
            "none": _("every run trains all {patience} epochs")}.get(settings.get("stopping"), "")
    how = _("Cross-entropy and accuracy on the training nodes (with dropout) and on the validation nodes, every epoch "
            "(bold: the first seed; faint: the others). Early stopping: {rule}.").format(
        rule=rule.format(patience=_e(settings.get("patience") if settings.get("stopping") != "none" else settings.get("epochs"))))
    body = []
    for key, title, ylabel in (("loss", N_("cross-entropy"), N_("loss")), ("accuracy", N_("accuracy"), N_("accuracy"))):
        series = [[(h["epoch"], h[f"train_{key}"], h[f"val_{key}"]) for h in r.get("history") or []] for r in runs]
        body.append(_img(curves_over_seeds(series, title, ylabel), _(title)))
    return _section("graph-curves", _("Training curves"), how, "".join(body))


def _embedding_section(run: RunFiles) -> str:
    from ..plots.graphs import embedding_map

    g = run.graph
    embedding = g.get("embedding") or {}
    method = embedding.get("method", "tsne")
    how = _("Every node's hidden-layer features (the first seed's model, after training) placed in two dimensions by "
            "{method} and coloured by its true subject. The model saw the labels of only {train} nodes; clusters of one "
            "colour show that the graph convolutions spread what those few labels taught along the citation links.").format(
        method=_mono("t-SNE" if method == "tsne" else "PCA"), train=_e((g.get("dataset") or {}).get("train", "?")))
    title = N_("hidden-layer embeddings (t-SNE), coloured by class") if method == "tsne" else N_(
        "hidden-layer embeddings (PCA), coloured by class")
    png = embedding_map(embedding.get("points") or [], embedding.get("labels") or [], (g.get("dataset") or {}).get("classes") or [],
                        title=title)
    return _section("graph-embedding", _("The learned node embeddings"), how, _img(png, _("node embeddings coloured by class")))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    g, runs = run.graph, _runs(run)
    published = g.get("published") or {}
    return [(f"{100 * g.get('test_accuracy_mean', math.nan):.1f} ± {100 * g.get('test_accuracy_std', math.nan):.1f}%",
             _("test accuracy, mean ± std over {n} seeds").format(n=len(runs))),
            (f"{100 * published.get('value', math.nan):.1f}%", _("published"))]


def _facts(run: RunFiles) -> list[str]:
    g = run.graph
    data, model = g.get("dataset") or {}, g.get("model") or {}
    name = model.get("name")
    return [_("{model} on {dataset}: {nodes} nodes, {edges} edges, {features} features, {classes} classes").format(
                model=_(_MODELS[name]) if name in _MODELS else name, dataset=data.get("name"), nodes=f"{data.get('nodes', 0):,}",
                edges=f"{data.get('undirected_edges', 0):,}", features=f"{data.get('features', 0):,}",
                classes=len(data.get("classes") or [])),
            _("{train} training, {val} validation, {test} test nodes").format(
                train=data.get("train"), val=data.get("validation"), test=data.get("test"))]


def _has(run: RunFiles) -> bool:
    return run.graph is not None


REPORT = KindReport("graph", files=("graph.json",), result_file="graph.json",
                    missing={"graph.json": N_("the node-classification runs' results")},
                    sections=(Section("graph-accuracy", N_("Test accuracy over seeds"), _accuracy_section, _has, order=61),
                              Section("graph-curves", N_("Training curves"), _curves_section, _has, order=62),
                              Section("graph-embedding", N_("The learned node embeddings"), _embedding_section, _has, order=63)),
                    headline=_headline, facts=_facts)
register(Kind("graph", run, N_("node classification on a citation graph (Cora): GCN or GAT over seeds, beside the published accuracy"),
              section="graph", config=GraphConfig, report=REPORT, order=77,
              smoke=("cora-gcn", ("graph.seeds=2", "graph.epochs=5", "graph.embedding=pca")), smoke_needs_data=True))
