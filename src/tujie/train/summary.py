"""`summary()`: each layer's output shape and parameter count, and the totals, as Keras prints them."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError


def summarize(model: nn.Module, input_shape=None, *, example=None, device=None, print_fn=print) -> dict:
    """Run one dummy batch through `model`, record every leaf layer's output shape, print a table.

    Args:
        model: any `nn.Module`.
        input_shape: one sample's shape, e.g. (1, 28, 28); needed unless the model has seen data.
        example: instead of a shape, the input itself: a tensor or a tuple of positional
            arguments (token ids, graphs), batch dimension included.
        print_fn: where to print (None: print nothing).

    Returns:
        {"name", "layers": [{"name", "type", "output_shape", "params", "trainable"}], "total_params", "trainable_params"}.

    Example:
        >>> import tujie as tj
        >>> info = summarize(tj.Sequential([tj.layers.Flatten(), tj.layers.Dense(10)]), (1, 28, 28), print_fn=None)
        >>> info["total_params"]
        7850
    """
    input_shape = input_shape or getattr(model, "input_shape", None)
    if example is None and input_shape is None:
        raise ConfigError(f"summary() of {type(model).__name__} needs an input shape.", expected="input_shape=(channels, height, width) or similar",
                          fix="Call summary(input_shape=...), or fit/call the model once so it knows its input.")
    device = device or next((p.device for p in model.parameters()), torch.device("cpu"))
    rows, hooks = [], []
    leaves = _rows(model)

    def record(name):
        def hook(module, inputs, output):
            out = output[0] if isinstance(output, (tuple, list)) else output
            shape = list(out.shape) if torch.is_tensor(out) else None
            own = getattr(module, "name", None)  # tujie layers carry Keras-style names (dense_1)
            rows.append({"name": own if isinstance(own, str) else name,
                         "type": type(module).__name__, "output_shape": shape,
                         "params": sum(p.numel() for p in module.parameters()),
                         "trainable": any(p.requires_grad for p in module.parameters())})
        return hook

    for name, module in leaves:
        hooks.append(module.register_forward_hook(record(name)))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            if example is None:
                model(torch.zeros(1, *input_shape, device=device))
            else:
                model(*(example if isinstance(example, tuple) else (example,)))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if example is not None:
        first = example[0] if isinstance(example, tuple) else example
        input_shape = tuple(first.shape[1:])
    info = {"name": type(model).__name__, "input_shape": list(input_shape), "layers": rows,
            "total_params": total, "trainable_params": trainable}
    if print_fn is not None:
        print_fn(format_summary(info))
    return info


def describe(model: nn.Module) -> dict:
    """`summarize`'s table without running the model: layers, types and parameter counts, no shapes.

    For models whose forward needs more than one input tensor (a translator's source, lengths
    and target), where a dummy batch would have to be made up.

    Example:
        >>> from torch import nn
        >>> describe(nn.Sequential(nn.Linear(4, 3), nn.ReLU()))["total_params"]
        15
    """
    rows = [{"name": getattr(module, "name", None) if isinstance(getattr(module, "name", None), str) else name,
             "type": type(module).__name__, "output_shape": None,
             "params": sum(p.numel() for p in module.parameters()),
             "trainable": any(p.requires_grad for p in module.parameters())} for name, module in _rows(model)]
    return {"name": type(model).__name__, "input_shape": None, "layers": rows,
            "total_params": sum(p.numel() for p in model.parameters()),
            "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad)}


def model_table(learner) -> dict:
    """A trained Learner's model for summary.json: the layer table with output shapes when the
    example batch it kept can show them, else (models fed several tensors, such as translators)
    the layers and parameter counts alone (`describe`)."""
    try:
        if learner.input_shape or learner.example is not None:
            return {**learner.summary(print_fn=None), "name": type(learner.model).__name__}
    except Exception:  # a forward that wants more than the example holds: no shapes, still a table
        pass
    return describe(learner.model)


def fit_timings(learner) -> dict:
    """summary.json's "timings" of one fit: seconds in all and per epoch, samples per second."""
    epochs = learner.history.epochs
    return {"train_s": sum(e["epoch_time_s"] for e in epochs), "epoch_s": [e["epoch_time_s"] for e in epochs],
            "samples_per_s": (sum(e["samples_per_s"] for e in epochs) / len(epochs)) if epochs else None}


def format_summary(info: dict) -> str:
    """The summary as a plain-text table (batch dimension shown as None, as Keras does)."""
    lines = [f'Model: "{info["name"]}"  input: {tuple(info["input_shape"])}']
    header = f"{'Layer':<28}{'Type':<16}{'Output shape':<22}{'Params':>12}"
    rule = "─" * len(header)
    lines += [rule, header, rule]
    for r in info["layers"]:
        shape = "?" if r["output_shape"] is None else str(tuple([None] + r["output_shape"][1:]))
        frozen = "  (frozen)" if r.get("trainable") is False and r["params"] else ""
        lines.append(f"{r['name'][:27]:<28}{r['type'][:15]:<16}{shape:<22}{r['params']:>12,}{frozen}")
    lines += [rule, f"Total params: {info['total_params']:,}", f"Trainable params: {info['trainable_params']:,}",
              f"Non-trainable params: {info['total_params'] - info['trainable_params']:,}", rule]
    return "\n".join(lines)


def _rows(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules that get a row: leaves, and tujie layers as a whole (their insides, e.g. a PyG conv, stay hidden)."""
    from ..layers import Layer

    rows, hidden = [], ()
    for name, module in model.named_modules():
        if not name or (hidden and name.startswith(hidden)):
            continue
        if isinstance(module, Layer):
            rows.append((name, module))
            hidden = (*hidden, name + ".")
        elif not any(True for _ in module.children()):
            rows.append((name, module))
    return rows
