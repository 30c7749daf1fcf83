"""The test phase of one trained model: scores, curves, confusion, threshold, samples to show.

The train and ensemble kinds end with it; it writes evaluation.json (and samples.safetensors
for images, text_samples.json for texts) for the report."""

from __future__ import annotations

import re
import time

import torch

from .._io import write_json


def test_model(learner, data, config, run_dir) -> dict:
    """Evaluate on the test split; write evaluation.json (and samples.safetensors for images) for the report.

    The scalars come from `Learner.evaluate` (loss and the recipe's metrics); the curves, the
    confusion matrix and the per-class table from `tujie.evaluate`, which streams over batches.
    A text classifier's test set passes through the model once: its outputs, kept in test order
    (N x classes, small), feed the scalars, the curves and the most confidently wrong texts.
    """
    start = time.perf_counter()
    classifier = learner.kind in ("multiclass", "binary_logits", "binary_probs")
    texts = classifier and getattr(data, "tokenizer", None) is not None
    outputs = _text_outputs(learner, data.test) if texts else None  # (N, classes) or (N, 1)
    if outputs is not None and not hasattr(learner.eval_model, "eval_step"):  # a model's own eval_step decides its loss
        test = _scores_of_outputs(learner, outputs, data.test.targets)
    else:
        test = {k: v for k, v in learner.evaluate(data.test, verbose=0).items() if isinstance(v, float)}
    if classifier:
        evaluation = _classification_report(learner, data, config, test, outputs)
        if learner.kind == "multiclass" and len(data.input_shape) == 3:  # images: keep a grid of predictions to show
            _save_samples(learner, data, config, run_dir)
        if texts:  # the most confidently wrong ones
            _save_text_samples(learner, data, config, run_dir, outputs)
    elif learner.kind == "regression":
        from ..evaluate import regression_metrics

        evaluation = regression_metrics(learner, data.test)
        test.setdefault("r2", evaluation["r2"])
    else:
        return test
    write_json(run_dir / "evaluation.json", {**evaluation, "eval_s": time.perf_counter() - start})
    return test


def _text_outputs(learner, dataset) -> torch.Tensor:
    """The eval model's outputs (N, classes) for a TextDataset, in its order, from batches of similar length."""
    from ..models.seq2seq import evaluating
    from ..text.data import pad_sequences

    model, sequences = learner.eval_model, dataset.sequences
    by_length = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))  # little padding per batch
    outputs: list = [None] * len(sequences)
    with evaluating(model), learner.device_autocast:  # eval mode, no gradients; the mode comes back after
        for start in range(0, len(by_length), 256):
            index = by_length[start:start + 256]
            tokens, lengths = pad_sequences([sequences[i] for i in index])  # (B, T), (B,)
            batch = model(tokens.to(learner.device), lengths.to(learner.device)).float().cpu()  # (B, classes)
            for i, out in zip(index, batch):
                outputs[i] = out
    return torch.stack(outputs)  # (N, classes) in dataset order


def _scores_of_outputs(learner, outputs: torch.Tensor, targets: torch.Tensor) -> dict:
    """What `Learner.evaluate` reports (loss and the learner's metrics), from outputs already computed."""
    from ..train.metrics import EvalMetrics

    measured = EvalMetrics(learner.metric_names, learner.kind)
    measured.update(outputs, targets)
    scores = {"loss": float(learner.loss_fn(outputs, targets))} if learner.loss_fn is not None else {}
    return {k: v for k, v in {**scores, **measured.compute()}.items() if isinstance(v, float)}


def _classification_report(learner, data, config, test: dict, outputs: torch.Tensor | None = None) -> dict:
    """Confusion matrix, per-class table, ROC/PR curves, calibration and (binary) the tuned threshold.

    `outputs`: the test set's outputs when the caller has them (one pass of the model), else
    the metrics run the model themselves.
    """
    from ..evaluate import classification_metrics, classification_metrics_from_outputs

    binary = learner.kind != "multiclass"
    bins = 1001 if binary else 201  # 201: ten classes' curves stay small
    if outputs is None:
        m = classification_metrics(learner, data.test, curve_bins=bins)
    else:
        m = classification_metrics_from_outputs(outputs, data.test.targets, task="binary" if binary else "multiclass",
                                                probabilities=learner.kind == "binary_probs", curve_bins=bins)
    classes = data.classes or [str(i) for i in range(m["num_classes"])]
    out = {k: m[k] for k in ("task", "num_samples", "num_classes", "accuracy", "auc", "average_precision", "ece", "reliability")}
    out["roc"] = {k: m["roc"][k] for k in ("fpr", "tpr")}
    out["pr_curve"] = {k: m["pr_curve"][k] for k in ("precision", "recall")}
    out.update(classes=classes, confusion_matrix=m["confusion_matrix"],
               per_class=[{"class": c, "precision": m["precision"]["per_class"][i], "recall": m["recall"]["per_class"][i],
                           "f1": m["f1"]["per_class"][i], "support": m["support"][i]} for i, c in enumerate(classes)])
    if binary and config.evaluate.threshold is not None:
        out["threshold"] = _tuned_threshold(learner, data, config)
    test.update({k: m[k] for k in ("auc", "average_precision", "ece") if isinstance(m.get(k), float)})
    return out


def _tuned_threshold(learner, data, config) -> dict:
    """Choose the threshold on the validation split, then report it on the test split (never tuned on test)."""
    from ..evaluate import tune_threshold
    from ..evaluate.threshold import _as_binary

    rule = config.evaluate.threshold
    source = data.val if data.val is not None else data.train
    chosen = tune_threshold(source.y, learner.predict_proba(source.x).reshape(-1), criterion=rule.criterion, target=rule.target)
    y_test, scores = _as_binary(data.test.y, learner.predict_proba(data.test.x).reshape(-1))
    on_test = tune_threshold(y_test, scores, criterion="f1")  # for its curves over every threshold
    predicted = scores >= chosen.threshold
    tp, fp = int((predicted & (y_test == 1)).sum()), int((predicted & (y_test == 0)).sum())
    fn, tn = int((~predicted & (y_test == 1)).sum()), int((~predicted & (y_test == 0)).sum())
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {"threshold": chosen.threshold, "criterion": rule.criterion, "target": rule.target, "chosen_on": "validation",
            "validation": {"precision": chosen.precision, "recall": chosen.recall, "f1": chosen.f1},
            "precision": precision, "recall": recall, "f1": 2 * precision * recall / max(precision + recall, 1e-12),
            "confusion_matrix": [[tn, fp], [fn, tp]], "thresholds": on_test.thresholds.tolist(),
            "precisions": on_test.precisions.tolist(), "recalls": on_test.recalls.tolist(), "f1s": on_test.f1s.tolist()}


def _save_text_samples(learner, data, config, run_dir, outputs: torch.Tensor) -> None:
    """text_samples.json: the test texts the model got wrong with the most confidence, and a few right ones.

    `outputs` (N, classes): the model's outputs on the test texts, in test order.
    """
    if learner.kind == "multiclass":
        probs = outputs.softmax(-1)  # (N, K)
    else:
        p = outputs.reshape(-1).sigmoid() if learner.kind == "binary_logits" else outputs.reshape(-1)
        probs = torch.stack([1 - p, p], dim=1)  # (N, 2)
    confidence, predicted = probs.max(-1)
    y = data.test.targets.reshape(-1).long()
    wrong = (predicted != y).nonzero().squeeze(-1)
    worst = wrong[confidence[wrong].argsort(descending=True)[: config.report.wrong]].tolist()
    right = (predicted == y).nonzero().squeeze(-1)[: 3].tolist()

    def row(i):
        text = re.sub(r"<br\s*/?>", " ", data.test.texts[i])  # IMDB's HTML line breaks, shown as spaces
        return {"text": text[:2000], "label": data.classes[int(y[i])], "predicted": data.classes[int(predicted[i])],
                "confidence": float(confidence[i]), "tokens": len(data.test.sequences[i])}

    samples = {"wrong": [row(i) for i in worst], "right": [row(i) for i in right]}
    model = learner.eval_model
    if hasattr(model, "token_attention"):  # attention models: which words the last layer attended to
        shown = right[:2] + worst[:2]
        samples["attention"] = [{**_token_weights(model, data.tokenizer, data.test.sequences[i], learner.device),
                                 **{k: row(i)[k] for k in ("label", "predicted", "confidence")}} for i in shown]
    write_json(run_dir / "text_samples.json", samples)


def _token_weights(model, tokenizer, ids, device) -> dict:
    """{"tokens", "weights"}: one text's tokens (subword pieces inside a word end in "-") and the attention each received."""
    ids = torch.as_tensor(list(ids), dtype=torch.long)
    weights = model.token_attention(ids[None].to(device))[0].float().cpu()  # (seq,)
    tokens = []
    for piece in tokenizer.tokens(ids):
        if piece.endswith("</w>"):  # BPE marks the last piece of each word
            piece = piece[: -len("</w>")]
        elif getattr(tokenizer, "kind", None) == "bpe":
            piece += "-"
        tokens.append(piece)
    return {"tokens": tokens, "weights": [round(float(w), 6) for w in weights]}


def _save_samples(learner, data, config, run_dir) -> None:
    """The first test images with their probabilities, and the most confidently wrong ones."""
    from safetensors.torch import save

    from .._io import write_bytes

    x, y = data.test.x, data.test.y
    probs = learner.predict_proba(x)  # (N, K), the test set only: 10,000 x 10 floats for MNIST
    confidence, predicted = probs.max(-1)
    wrong = (predicted != y).nonzero().squeeze(-1)
    worst = wrong[confidence[wrong].argsort(descending=True)[: config.report.wrong]]
    first = torch.arange(min(config.report.samples, len(x)))
    tensors = {"images": data.denormalize(x[first]).float().contiguous(), "probs": probs[first].contiguous(),
               "labels": y[first].contiguous(), "wrong_images": data.denormalize(x[worst]).float().contiguous(),
               "wrong_probs": probs[worst].contiguous(), "wrong_labels": y[worst].contiguous()}
    write_bytes(run_dir / "samples.safetensors", save(tensors))
