"""ONNX Runtime against torch: median latency at batch 1 and 64, in the same process, for four classifiers.

    .venv/bin/python bench/export_latency.py --threads 1

Models (untrained: latency does not depend on the weights): the textbook MLP 784-128-64-10,
LeNet-5 (1×32×32), ResNet-20 (3×32×32, He et al. 2016) and the IMDB LSTM classifier
(vocabulary 20,000, embedding 128, hidden 128) on 200-token texts. Each is exported with
`tujie.deploy.onnx_graph.write_onnx` (TorchScript-based exporter, dynamic batch axis),
its ONNX Runtime outputs compared with torch's (max |difference|), then each backend timed
alternately: the median of up to 50 calls after two warm-ups (`deploy.export._median_ms`).
Both backends get the same thread count. The ratio torch ÷ ORT > 1 means ONNX Runtime is faster.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

import tujie as tj
from tujie.deploy.export import _median_ms
from tujie.deploy.onnx_graph import ort_session, write_onnx


def cases():
    """(name, model, task, input_shape or None, batch(size) -> tuple of arrays)."""
    def images(shape):
        return lambda n: (np.random.default_rng(0).random((n, *shape), dtype=np.float32),)

    def texts(n, steps=200):
        rng = np.random.default_rng(0)
        return rng.integers(4, 20_000, (n, steps)).astype(np.int64), np.full(n, steps, np.int64)

    yield "mlp 784-128-64-10", tj.models.create("mlp"), "image", (1, 28, 28), images((1, 28, 28))
    yield "lenet5", tj.models.create("lenet5"), "image", (1, 32, 32), images((1, 32, 32))
    yield "resnet20", tj.models.create("resnet20"), "image", (3, 32, 32), images((3, 32, 32))
    yield "lstm_classifier (200 tokens)", tj.models.create("lstm_classifier", vocab_size=20_000), "text", None, texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    folder = Path(tempfile.mkdtemp(prefix="tujie-bench-onnx-"))
    rows = []
    for name, model, task, shape, make in cases():
        model.eval()
        with torch.no_grad():
            model(*(torch.from_numpy(a) for a in make(2)))  # lazy layers take their sizes
        session = ort_session(write_onnx(model, folder / f"{name.split()[0]}.onnx", task=task, input_shape=shape),
                              threads=args.threads)
        names = [i.name for i in session.get_inputs()]
        row = {"model": name, "parameters": sum(p.numel() for p in model.parameters())}
        for batch in (1, 64):
            arrays = make(batch)
            feeds = dict(zip(names, arrays))
            tensors = [torch.from_numpy(a) for a in arrays]

            def on_torch():
                with torch.inference_mode():
                    return model(*tensors)

            diff = float(np.abs(on_torch().numpy() - session.run(None, feeds)[0]).max())
            row[batch] = (_median_ms(on_torch, repeats=args.repeats, budget_s=5.0),
                          _median_ms(lambda: session.run(None, feeds), repeats=args.repeats, budget_s=5.0), diff)
        rows.append(row)
        print(f"{name}: done", flush=True)
    print(f"\ntorch {torch.__version__}, onnxruntime {__import__('onnxruntime').__version__}, {args.threads} thread(s); "
          "median ms per call")
    print("| model | parameters | torch b=1 | ORT b=1 | torch÷ORT b=1 | torch b=64 | ORT b=64 | torch÷ORT b=64 | max abs diff |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        (t1, o1, d1), (t64, o64, d64) = r[1], r[64]
        print(f"| {r['model']} | {r['parameters']:,} | {t1:.3f} | {o1:.3f} | {t1 / o1:.2f} | {t64:.2f} | {o64:.2f} | "
              f"{t64 / o64:.2f} | {max(d1, d64):.1e} |")


if __name__ == "__main__":
    main()
