"""The `recommend` kind: GMF, the NCF MLP and NeuMF on MovieLens 100K, beside popularity and matrix factorisation.

Top-N ranking follows He et al. 2017 (`tujie.recsys.ranking`): each user's latest rating held
out, ranked among 99 sampled unrated items, HR@10 and NDCG@10; training on 4 freshly sampled
negatives per positive each epoch, with the log loss. NeuMF starts from the trained GMF and MLP
(the paper's pre-training, section 3.4.1) unless `recommend.pretrain` is false. The baselines:
item popularity, and biased matrix factorisation trained exactly like the NCF models (same log
loss, same negatives). Rating prediction trains a NeuMF-style regressor and a biased MF on
`u1.base` with the squared error (`fit([users, items], ratings)`, as the seeds write it), picks
each one's epoch on 5% of u1.base held out, and reports the RMSE on `u1.test`.

Writes recommend.json (every figure and curve, a few users' top-10 with titles) and NeuMF's
weights (recommend_neumf.safetensors). Recipe: movielens-ncf.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import Field

from .._io import write_json
from ..config import Strict
from ..i18n import N_, _
from ..report import KindReport, Section
from ..report.format import _e, _fmt_seconds, _img, _note, _section, _table
from ..report.run_files import RunFiles
from ..utils import one_thread
from . import Kind, RunContext, register

RANKERS = ("gmf", "mlp", "neumf", "mf")
_NAMES = {"gmf": "GMF", "mlp": "MLP", "neumf": "NeuMF", "mf": "MF", "popularity": N_("popularity")}


class RecommendConfig(Strict):
    models: list[Literal["gmf", "mlp", "neumf", "mf"]] = Field(list(RANKERS), min_length=1,
                                                               description="the rankers trained (popularity is always scored)")
    epochs: int = Field(20, ge=1, description="training epochs of GMF, MLP, MF (and NeuMF without pre-training)")
    batch_size: int = Field(256, ge=1)
    lr: float = Field(1e-3, gt=0)
    negatives: int = Field(4, ge=1, description="sampled negatives per training positive, redrawn every epoch")
    test_negatives: int = Field(99, ge=1, description="sampled unrated items each held-out item is ranked among")
    factors: int = Field(8, ge=1, description="GMF's (and NeuMF's GMF part's) predictive factors")
    layers: list[int] = Field([64, 32, 16, 8], min_length=2, description="the MLP tower; layers[0] is both embeddings together")
    mf_factors: int = Field(8, ge=1, description="the ranking MF baseline's factors")
    pretrain: bool = Field(True, description="start NeuMF from the trained GMF and MLP (needs both in `models`)")
    neumf_epochs: int = Field(10, ge=1, description="NeuMF's epochs after pre-training")
    neumf_lr: float = Field(1e-4, gt=0, description="NeuMF's learning rate after pre-training")
    rating_models: list[Literal["neumf", "mf"]] = Field(["neumf", "mf"], description="the rating regressors ([] for none)")
    rating_split: Literal["u1", "u2", "u3", "u4", "u5"] = "u1"
    rating_epochs: int = Field(15, ge=1)
    rating_factors: int = Field(32, ge=1, description="the rating MF's factors")
    rating_lr: float = Field(1e-3, gt=0)
    rating_weight_decay: float = Field(0.0, ge=0)
    rating_validation: float = Field(0.05, gt=0, lt=1, description="share of the .base file held out to pick the epoch")
    users: int | None = Field(None, ge=2, description="keep only the first N users (smoke runs)")
    show_users: int = Field(4, ge=0, description="users whose top-10 the report lists")
    data_dir: str | None = None


def _rankers(section: RecommendConfig, num_users: int, num_items: int) -> dict:
    """Model builders by key; the zoo's NCF models and the domain's MF."""
    from ..models import create
    from ..recsys.mf import MatrixFactorization

    return {"gmf": lambda: create("gmf", num_users=num_users, num_items=num_items, factors=section.factors),
            "mlp": lambda: create("ncf_mlp", num_users=num_users, num_items=num_items, layers=tuple(section.layers)),
            "neumf": lambda: create("neumf", num_users=num_users, num_items=num_items, factors=section.factors,
                                    layers=tuple(section.layers)),
            "mf": lambda: MatrixFactorization(num_users, num_items, section.mf_factors)}


def _keep_users(ratings, count: int | None):
    """Only users 0 .. count - 1 (a smoke run), ids unchanged."""
    if count is None:
        return ratings
    from ..recsys.movielens import Ratings

    keep = ratings.users < count
    return Ratings(ratings.users[keep], ratings.items[keep], ratings.ratings[keep], ratings.timestamps[keep], count, ratings.num_items)


def _rank(section: RecommendConfig, split, say, seed: int) -> tuple[dict, dict]:
    """Train every ranker; ({key: record}, {key: trained model})."""
    import torch

    from ..models.ncf import NeuMF
    from ..recsys.training import train_ranker

    builders, records, trained = _rankers(section, split.num_users, split.num_items), {}, {}
    pretrained = section.pretrain and {"gmf", "mlp"} <= set(section.models)
    for key in sorted(section.models, key=lambda k: k == "neumf"):  # NeuMF last: it may start from GMF and MLP
        torch.manual_seed(seed)

        def progress(record, key=key):
            say(_("{model} epoch {epoch}: HR@10 {hr}, NDCG@10 {ndcg}").format(
                model=_NAMES[key], epoch=record["epoch"], hr=f"{record['hr_at_10']:.4f}", ndcg=f"{record['ndcg_at_10']:.4f}"))

        start = time.perf_counter()
        if key == "neumf" and pretrained:
            model = NeuMF.from_pretrained(trained["gmf"], trained["mlp"], alpha=0.5)
            curve = train_ranker(model, split, epochs=section.neumf_epochs, batch_size=section.batch_size, lr=section.neumf_lr,
                                 ratio=section.negatives, seed=seed, on_epoch=progress)
        else:
            model = builders[key]()
            curve = train_ranker(model, split, epochs=section.epochs, batch_size=section.batch_size, lr=section.lr,
                                 ratio=section.negatives, seed=seed, on_epoch=progress)
        trained[key] = model
        records[key] = {"hr_at_10": curve[-1]["hr_at_10"], "ndcg_at_10": curve[-1]["ndcg_at_10"], "curve": curve,
                        "seconds": time.perf_counter() - start, "pretrained": key == "neumf" and pretrained,
                        "parameters": sum(p.numel() for p in model.parameters())}
    return records, trained


def _rate(section: RecommendConfig, data_dir, say, seed: int) -> dict:
    """Rating prediction on the uN split: {key: record} with the epoch picked on held-out training ratings."""
    import torch

    from ..models import create
    from ..recsys.mf import MatrixFactorization
    from ..recsys.movielens import load_ratings
    from ..recsys.training import best_epoch, hold_out, train_rater

    base = _keep_users(load_ratings(f"{section.rating_split}.base", data_dir), section.users)
    test = _keep_users(load_ratings(f"{section.rating_split}.test", data_dir), section.users)
    train, validation = hold_out(base, section.rating_validation, seed)
    mean = float(train.ratings.mean())
    records = {}
    for key in section.rating_models:
        torch.manual_seed(seed)
        if key == "mf":
            model = MatrixFactorization(train.num_users, train.num_items, section.rating_factors, global_mean=mean)
        else:
            model = create("neumf", num_users=train.num_users, num_items=train.num_items, factors=section.factors,
                           layers=tuple(section.layers))
            with torch.no_grad():
                model.predict.bias.fill_(mean)  # start at the mean rating, as MF's μ does
        curve = train_rater(model, train, test, validation=validation, epochs=section.rating_epochs, batch_size=section.batch_size,
                            lr=section.rating_lr, weight_decay=section.rating_weight_decay, seed=seed)
        best = best_epoch(curve)
        say(_("{model} ratings: test RMSE {rmse} at epoch {epoch} (picked on the held-out training ratings)").format(
            model=_NAMES[key], rmse=f"{best['test_rmse']:.4f}", epoch=best["epoch"]))
        records[key] = {"rmse": best["test_rmse"], "epoch": best["epoch"], "curve": curve}
    return {"split": section.rating_split, "train": len(train), "validation": len(validation), "test": len(test),
            "mean_rating": mean, "models": records}


def _top10(model, split, titles: list[str], users: list[int]) -> list[dict]:
    """Each listed user's ten highest-scored items among those not in their training history."""
    import numpy as np
    import torch

    shown = []
    model.eval()
    history = split.seen()
    history[np.arange(split.num_users), split.test_items] = False  # the held-out item may (and should) be recommended
    for user in users:
        items = torch.arange(split.num_items)
        with torch.no_grad():
            scores = model(torch.full_like(items, user), items).numpy()  # (num_items,)
        scores[history[user]] = -np.inf
        top = np.argsort(-scores, kind="stable")[:10]
        liked = split.train_items[split.train_users == user][-3:]  # the user's latest training interactions
        shown.append({"user": user + 1, "held_out": titles[split.test_items[user]], "recent": [titles[i] for i in liked],
                      "top10": [titles[i] for i in top], "hit": bool(split.test_items[user] in top)})
    return shown


def run(context: RunContext) -> dict:
    """Rank with every model and baseline, predict ratings; write recommend.json and NeuMF's weights."""
    from ..recsys.movielens import load_ratings, load_titles
    from ..recsys.ranking import hit_ratio_ndcg, leave_one_out, popularity_scores
    from ..train.checkpoint import save_weights

    section = context.config.recommend or RecommendConfig()
    seed = context.config.seed
    ratings = _keep_users(load_ratings("u.data", section.data_dir), section.users)
    titles = load_titles(section.data_dir)
    split = leave_one_out(ratings, negatives=section.test_negatives, seed=seed)
    run_dir = context.run_dir
    context.say(_("MovieLens 100K: {ratings} ratings, {users} users, {items} items; {train} training interactions, "
                  "one held out per user").format(ratings=f"{len(ratings):,}", users=split.num_users, items=split.num_items,
                                                  train=f"{len(split.train_users):,}"))
    context.seed()
    with one_thread():  # embeddings and 64-wide layers: one thread is faster than several fighting over them
        hr, ndcg = hit_ratio_ndcg(popularity_scores(split))
        ranking = {"popularity": {"hr_at_10": hr, "ndcg_at_10": ndcg, "curve": [], "seconds": None}}  # counted, not trained
        records, trained = _rank(section, split, context.say, seed)
        ranking.update(records)
        rating = _rate(section, section.data_dir, context.say, seed) if section.rating_models else None
        best = trained.get("neumf") or next(iter(trained.values()))
        shown = _top10(best, split, titles, list(range(min(section.show_users, split.num_users))))
    if "neumf" in trained:
        save_weights(run_dir / "recommend_neumf.safetensors", trained["neumf"],
                     {"num_users": split.num_users, "num_items": split.num_items, "factors": section.factors,
                      "layers": list(section.layers), "ids": "MovieLens 100K ids minus 1"})
    write_json(run_dir / "recommend.json", {
        "dataset": "MovieLens 100K", "users": split.num_users, "items": split.num_items, "ratings": len(ratings),
        "train_interactions": len(split.train_users), "negatives": section.negatives, "test_negatives": section.test_negatives,
        "ranking": ranking, "rating": rating, "top10": shown, "top10_model": "neumf" if "neumf" in trained else next(iter(trained))})
    results = {}
    for key, record in ranking.items():
        results[f"{key}_hr_at_10"], results[f"{key}_ndcg_at_10"] = record["hr_at_10"], record["ndcg_at_10"]
    for key, record in ((rating or {}).get("models") or {}).items():
        results[f"{key}_rmse"] = record["rmse"]
    return {"results": results}


# ----------------------------------------------------------------------------------- report
_ORDER = ("popularity", "mf", "gmf", "mlp", "neumf")
PUBLISHED = {"hr_at_10": 0.730, "ndcg_at_10": 0.447}  # He et al. 2017, NeuMF with pre-training on MovieLens 1M (their Table 2)


def _name(key: str) -> str:
    return _(_NAMES[key]) if key == "popularity" else _NAMES.get(key, key)


def _models(run: RunFiles) -> list[tuple[str, dict]]:
    ranking = run.recommend.get("ranking") or {}
    if not isinstance(ranking, dict) or not ranking:
        raise ValueError("recommend.json's ranking must be a non-empty object")
    return [(key, ranking[key]) for key in _ORDER if key in ranking]


def _ranking_section(run: RunFiles) -> str:
    from ..plots.recsys import model_bars

    how = _("Each user's latest rating is held out and ranked among {n} movies the user never rated. HR@10 is the share "
            "of users whose held-out movie is in the model's top 10; NDCG@10 also rewards a higher place (1 at the top, "
            "1/log2(rank + 2) below). Popularity ranks by the number of training ratings; MF is biased matrix "
            "factorisation trained with the same loss and negatives as the NCF models. The figures are after the last "
            "epoch (no epoch picked on the test items).").format(n=run.recommend.get("test_negatives", 99))
    models = _models(run)
    png = model_bars([_name(k) for k, _r in models], [r.get("hr_at_10", 0.0) for _k, r in models],
                     [r.get("ndcg_at_10", 0.0) for _k, r in models])
    rows = [[_e(_name(k)), f"{r.get('hr_at_10', float('nan')):.4f}", f"{r.get('ndcg_at_10', float('nan')):.4f}",
             _e(f"{r.get('parameters', 0):,}" if r.get("parameters") else "—"), _e(_fmt_seconds(r.get("seconds")))]
            for k, r in models]
    published = _("He et al. (2017) report HR@10 {hr} and NDCG@10 {ndcg} for NeuMF with pre-training on "
                  "MovieLens 1M, a larger set (6,040 users, one million ratings): a reference point, not the same "
                  "experiment.").format(hr=PUBLISHED["hr_at_10"], ndcg=PUBLISHED["ndcg_at_10"])
    table = _table([_("model"), "HR@10", "NDCG@10", _("parameters"), _("training time")], rows, "numbers")
    return _section("recommend-ranking", _("Top-10 ranking: the models side by side"), how,
                    _img(png, _("HR@10 and NDCG@10 of each model")) + table + _note(_e(published), "info"))


def _curves_section(run: RunFiles) -> str:
    from ..plots.recsys import ranking_curves

    how = _("HR@10 and NDCG@10 on the held-out items after each epoch of training (fresh negatives every epoch). "
            "NeuMF, started from the trained GMF and MLP, begins where they ended.")
    curves = {_name(k): ([p["epoch"] for p in r["curve"]], [p["hr_at_10"] for p in r["curve"]], [p["ndcg_at_10"] for p in r["curve"]])
              for k, r in _models(run) if r.get("curve")}
    if not curves:
        return _section("recommend-curves", _("HR@10 and NDCG@10 against epochs"), how, _note(_e(_("No model was trained."))))
    return _section("recommend-curves", _("HR@10 and NDCG@10 against epochs"), how,
                    _img(ranking_curves(curves), _("HR@10 and NDCG@10 against epochs")))


def _rating_section(run: RunFiles) -> str:
    from ..plots.recsys import rmse_curves

    rating = run.recommend.get("rating") or {}
    how = _("Rating prediction on the {split} split ({train} training ratings, {validation} held out of them to pick "
            "the epoch, {test} test ratings): a NeuMF-style regressor and biased matrix factorisation, both trained "
            "with the squared error. RMSE on the 1–5 scale, lower is better; predictions are clipped to 1–5.").format(
        split=rating.get("split", "u1"), train=f"{rating.get('train', 0):,}", validation=f"{rating.get('validation', 0):,}",
        test=f"{rating.get('test', 0):,}")
    models = rating.get("models") or {}
    if not models:
        return _section("recommend-rating", _("Rating prediction (RMSE)"), how, _note(_e(_("No rating model was trained."))))
    rows = [[_e(_name(k)), _e(r.get("epoch")), f"{r.get('rmse', float('nan')):.4f}"] for k, r in models.items()]
    curves = {_name(k): ([p["epoch"] for p in r["curve"]], [p["train_rmse"] for p in r["curve"]], [p["test_rmse"] for p in r["curve"]])
              for k, r in models.items()}
    return _section("recommend-rating", _("Rating prediction (RMSE)"), how,
                    _table([_("model"), _("epoch picked"), _("test RMSE")], rows, "numbers")
                    + _img(rmse_curves(curves), _("training and test RMSE against epochs")))


def _mono(text) -> str:
    return f'<span class="mono">{_e(text)}</span>'


def _users_section(run: RunFiles) -> str:
    how = _("A few users' ten highest-scored movies among all those they had not rated in training (by {model}). "
            "The held-out movie is the one the user rated last; a row marked ✓ has it in the top 10.").format(
        model=_name(run.recommend.get("top10_model", "neumf")))
    shown = run.recommend.get("top10") or []
    if not shown:
        return _section("recommend-users", _("Top 10 for a few users"), how, _note(_e(_("No user is shown."))))
    rows = [[_e(u.get("user")), "<br>".join(_mono(t) for t in u.get("recent") or []), _mono(u.get("held_out", "")),
             "<br>".join(_mono(t) for t in u.get("top10") or []), "✓" if u.get("hit") else "✗"] for u in shown]
    return _section("recommend-users", _("Top 10 for a few users"), how,
                    _table([_("user"), _("latest training ratings"), _("held-out movie"), _("top 10"), _("hit")], rows))


def _headline(run: RunFiles, test_stats) -> list[tuple[str, str]]:
    ranking = run.recommend.get("ranking") or {}
    stats = []
    for key in ("neumf", "gmf"):
        if key in ranking:
            stats.append((f"{ranking[key].get('hr_at_10', float('nan')):.3f}", _("{model} HR@10").format(model=_name(key))))
            break
    for key, record in ((run.recommend.get("rating") or {}).get("models") or {}).items():
        stats.append((f"{record.get('rmse', float('nan')):.3f}", _("{model} test RMSE").format(model=_name(key))))
    return stats + [(v, label) for _metric, v, label in test_stats]


def _facts(run: RunFiles) -> list[str]:
    r = run.recommend
    return [_("MovieLens 100K: {users} users, {items} movies, {ratings} ratings; {n} negatives per positive in training").format(
        users=r.get("users"), items=r.get("items"), ratings=f"{r.get('ratings', 0):,}", n=r.get("negatives"))]


def _has(run: RunFiles) -> bool:
    return run.recommend is not None


REPORT = KindReport("recommend", files=("recommend.json",), result_file="recommend.json",
                    missing={"recommend.json": N_("the recommenders' results")},
                    sections=(Section("recommend-ranking", N_("Top-10 ranking: the models side by side"), _ranking_section, _has, order=61),
                              Section("recommend-curves", N_("HR@10 and NDCG@10 against epochs"), _curves_section, _has, order=62),
                              Section("recommend-rating", N_("Rating prediction (RMSE)"), _rating_section, _has, order=63),
                              Section("recommend-users", N_("Top 10 for a few users"), _users_section, _has, order=64)),
                    headline=_headline, facts=_facts)
register(Kind("recommend", run, N_("neural collaborative filtering (GMF, MLP, NeuMF) on MovieLens 100K beside popularity and MF"),
              section="recommend", config=RecommendConfig, report=REPORT, order=80, smoke_needs_data=True,
              smoke=("movielens-ncf", ("recommend.users=30", "recommend.epochs=1", "recommend.neumf_epochs=1",
                                       "recommend.rating_epochs=1", "recommend.rating_models=[mf]",
                                       "recommend.test_negatives=20", "recommend.show_users=2"))))
