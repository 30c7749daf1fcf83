"""LoRA: the layer is W + (α/r)·BA, merges back into W, starts as the base model, and trains only its adapters."""

import copy

import pytest
import torch
from torch import nn

from tujie.errors import ConfigError
from tujie.lm.lora import LoRALinear, add_lora, lora_targets, merge_lora, trainable_parameters
from tujie.models import create


def tiny_gpt():
    torch.manual_seed(0)
    return create("gpt", vocab_size=40, block_size=16, n_layer=2, n_head=2, n_embd=16).eval()


def test_the_layer_is_w_plus_scaled_ba_and_merges_back_into_w():
    torch.manual_seed(0)
    base = nn.Linear(6, 4)
    layer = LoRALinear(base, r=2, alpha=6)
    with torch.no_grad():
        layer.lora_B.normal_()  # a trained change (B is zero at the start)
    x = torch.randn(3, 5, 6)  # (B, T, in)
    expected = x @ (base.weight + (6 / 2) * layer.lora_B @ layer.lora_A).T + base.bias
    assert torch.allclose(layer(x), expected, atol=1e-6)
    merged = layer.merge()
    assert type(merged) is nn.Linear and torch.allclose(merged(x), expected, atol=1e-6)


def test_the_layer_equals_peft_given_the_same_a_and_b():
    from peft import LoraConfig, inject_adapter_in_model

    torch.manual_seed(0)
    ours = LoRALinear(nn.Linear(6, 4), r=2, alpha=3)
    with torch.no_grad():
        ours.lora_B.normal_()
    theirs = inject_adapter_in_model(LoraConfig(r=2, lora_alpha=3, target_modules=["0"]),
                                     nn.Sequential(copy.deepcopy(ours.base)))[0]
    with torch.no_grad():
        theirs.lora_A["default"].weight.copy_(ours.lora_A)
        theirs.lora_B["default"].weight.copy_(ours.lora_B)
    x = torch.randn(5, 6)
    assert torch.allclose(ours(x), theirs(x), atol=1e-6)


def test_targets_are_the_blocks_linear_layers_not_the_tied_head():
    names = lora_targets(tiny_gpt())
    assert len(names) == 8 and all(n.startswith("blocks.") for n in names)  # q/k/v, proj, MLP in and out, per block
    assert {n.split(".")[-1] for n in names} == {"c_attn", "c_proj", "c_fc"}


@pytest.mark.parametrize("backend", ["tujie", "peft"])
def test_at_init_the_model_is_the_base_model_and_only_the_adapters_train(backend):
    base = tiny_gpt()
    model = add_lora(copy.deepcopy(base), r=4, alpha=8, backend=backend)
    ids = torch.randint(0, 40, (2, 10))  # (B, T)
    assert torch.allclose(model(ids), base(ids), atol=1e-6)
    trainable, total = trainable_parameters(model)
    # rank 4 per block: c_attn 4·(16 + 48), attn c_proj 4·(16 + 16), c_fc 4·(16 + 64), mlp c_proj 4·(64 + 16)
    assert trainable == 2 * 4 * (64 + 32 + 80 + 80) and total == trainable + base.num_parameters(False)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    adapters = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):  # the second step moves A too (B is zero at the first, so A's gradient is)
        model.train()
        loss = nn.functional.cross_entropy(model(ids).flatten(0, 1), ids.roll(-1, 1).flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)
    assert all(not torch.equal(p, adapters[n]) for n, p in model.named_parameters() if n in adapters)
    model.eval()
    adapted = model(ids)
    assert not torch.allclose(adapted, base(ids), atol=1e-4)
    merged = merge_lora(model)
    assert all(type(m) is nn.Linear for n, m in merged.named_modules() if n in lora_targets(base))
    assert sum(p.numel() for p in merged.parameters()) == base.num_parameters(False)
    assert torch.allclose(merged(ids), adapted, atol=1e-5)


def test_bad_ranks_backends_and_targets_are_refused():
    with pytest.raises(ConfigError, match="rank"):
        add_lora(tiny_gpt(), r=0)
    with pytest.raises(ConfigError, match="backend"):
        add_lora(tiny_gpt(), r=2, backend="loralib")
    with pytest.raises(ConfigError, match="blocks.0.attn.c_attn"):
        add_lora(tiny_gpt(), r=2, targets=["wte"], backend="tujie")


@pytest.mark.data
def test_the_lora_kind_saves_its_base_and_a_second_run_reuses_it(tmp_path):
    import tujie as tj
    from tujie import kinds
    from tujie.lm import load_run

    overrides = [*kinds.get("lora").smoke[1], f"output_dir={tmp_path}"]
    first = tj.run("tang-poetry-lora", overrides=[*overrides, "run_name=first"], verbose=0)
    model, _tokenizer = load_run(first.run_dir)  # the base pretrained without 李白, as an lm run's files
    assert model.config["n_embd"] == 16
    second = tj.run("tang-poetry-lora", overrides=[*overrides, "run_name=second", f"lora.base_run={first.run_dir}",
                                                   "lora.train_embedding=true"], verbose=0)
    shares = [run.summary["results"]["lora_trainable_share_r2"] for run in (first, second)]
    assert shares[0] < 0.05 < shares[1]  # the token embedding is most of this tiny GPT
    base = second.summary["results"]["val_loss_base"]
    assert base == pytest.approx(first.summary["results"]["val_loss_base"], abs=1e-6)  # the same base, the same held-out poems
    import json

    assert json.loads((second.run_dir / "lora.json").read_text())["base"]["without_poet"] is True
