"""Write a small synthetic run directory in the format the training runner produces.

Used by the report tests (and reusable by any test that needs a finished run on disk
without training one). The data are random but seeded, so every call writes the same files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CLASSIFICATION_FILES = ("config.yaml", "metrics.jsonl", "summary.json", "evaluation.json",
                        "samples.safetensors")


def write_fake_run(folder, *, recipe: str = "mnist-mlp", run_name: str = "2024-05-01_1403",
                   epochs: int = 3, num_classes: int = 10, n_images: int = 15, n_wrong: int = 10,
                   image_shape=(1, 28, 28), task: str = "classification", skip=(),
                   summary_overrides: dict | None = None, config_extra: str = "",
                   seed: int = 0) -> Path:
    """Write config.yaml, metrics.jsonl, summary.json and (classification) evaluation.json and
    samples.safetensors into `folder`, leaving out the file names listed in `skip`.

    Args:
        folder: where to write (created if needed).
        recipe, run_name: the names shown in the report header.
        epochs: lines in metrics.jsonl.
        num_classes: K, for the confusion matrix, per-class table and probabilities.
        n_images: test examples in samples.safetensors; n_wrong: confidently wrong ones.
        image_shape: (C, H, W) of each image.
        task: "classification" or e.g. "regression" (no evaluation or samples then).
        skip: file names not to write.
        summary_overrides: keys replacing those of summary.json.
        config_extra: YAML text appended to config.yaml.
        seed: for the random data.

    Returns:
        The folder.

    Example:
        >>> write_fake_run(tmp_path / "run", epochs=2, skip=("samples.safetensors",))  # doctest: +SKIP
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    classes = [str(i) for i in range(num_classes)]
    regression = task != "classification"
    files: dict[str, object] = {}

    files["config.yaml"] = (f"recipe: {recipe}\ntask: {task}\nmodel:\n  name: mlp\n  hidden: [128, 64]\n"
                            f"training:\n  epochs: {epochs}\n  batch_size: 32\n  optimizer: adam\n"
                            f"  lr: 0.001\n" + config_extra)
    history = []
    for epoch in range(1, epochs + 1):
        record = {"epoch": epoch, "loss": 0.6 / epoch, "val_loss": 0.5 / epoch + 0.02,
                  "lr": 0.001 * 0.5 ** (epoch - 1), "epoch_time_s": 1.9, "samples_per_s": 25000}
        if regression:
            record.update({"mae": 0.4 / epoch, "val_mae": 0.45 / epoch})
        else:
            record.update({"accuracy": 1 - 0.1 / epoch, "val_accuracy": 1 - 0.08 / epoch})
        history.append(record)
    files["metrics.jsonl"] = "".join(json.dumps(r) + "\n" for r in history)

    test = ({"loss": 0.05, "mae": 0.12, "mse": 0.03} if regression else
            {"loss": 0.08, "accuracy": 0.975, "precision": 0.974, "recall": 0.973, "f1": 0.9735})
    summary = {
        "recipe": recipe, "run_name": run_name, "task": task, "test": test,
        "timings": {"total_s": 75.3, "train_s": 70.1, "epoch_s": [1.9] * epochs, "samples_per_s": 25000.0},
        "environment": {"python": "3.11.2", "torch": "2.13.0", "tujie": "0.1.0", "device": "cpu",
                        "threads": 16},
        "model": {"name": "Sequential", "layers": [
            {"name": "flatten", "type": "Flatten", "output_shape": [32, 784], "params": 0, "trainable": True},
            {"name": "dense", "type": "Dense", "output_shape": [32, 128], "params": 100480, "trainable": True},
            {"name": "dense_1", "type": "Dense", "output_shape": [32, 64], "params": 8256, "trainable": False},
            {"name": "dense_2", "type": "Dense", "output_shape": [32, num_classes],
             "params": 65 * num_classes, "trainable": True}],
            "total_params": 108736 + 65 * num_classes, "trainable_params": 100480 + 65 * num_classes},
        "best_epoch": epochs, "stopped_early": False, "stop_reason": None, "status": "finished",
        "started": "2024-05-01T14:03:00", "finished": "2024-05-01T14:04:15",
    }
    summary.update(summary_overrides or {})
    files["summary.json"] = json.dumps(summary, indent=2)

    if not regression:
        matrix = rng.integers(0, 4, size=(num_classes, num_classes))
        np.fill_diagonal(matrix, rng.integers(80, 120, size=num_classes))
        per_class = []
        for k, name in enumerate(classes):
            precision = float(matrix[k, k] / matrix[:, k].sum())
            recall = float(matrix[k, k] / matrix[k].sum())
            per_class.append({"class": name, "precision": precision, "recall": recall,
                              "f1": 2 * precision * recall / (precision + recall),
                              "support": int(matrix[k].sum())})
        files["evaluation.json"] = json.dumps({"classes": classes, "confusion_matrix": matrix.tolist(),
                                               "per_class": per_class})

        def examples(n, wrong):
            images = rng.random((n, *image_shape), dtype=np.float32)  # (N, C, H, W)
            labels = rng.integers(0, num_classes, size=n).astype(np.int64)
            logits = rng.normal(size=(n, num_classes)).astype(np.float32)
            target = (labels + 1) % num_classes if wrong else labels
            logits[np.arange(n), target] += 4.0
            probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # (N, K)
            return images, probs.astype(np.float32), labels

        from safetensors.numpy import save_file

        images, probs, labels = examples(n_images, wrong=False)
        tensors = {"images": images, "probs": probs, "labels": labels}
        if n_wrong:
            images, probs, labels = examples(n_wrong, wrong=True)
            tensors.update({"wrong_images": images, "wrong_probs": probs, "wrong_labels": labels})
        if "samples.safetensors" not in skip:
            save_file(tensors, str(folder / "samples.safetensors"))

    for name, text in files.items():
        if name not in skip:
            (folder / name).write_text(text, encoding="utf-8")
    return folder
