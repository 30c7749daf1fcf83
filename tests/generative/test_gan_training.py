"""GAN training side by side: the two generator losses, identical starts, collapse rule, resume, shape errors, 28 px DCGAN."""

import json

import pytest
import torch
import torch.nn.functional as F

import tujie as tj
from tujie.errors import ConfigError, ShapeError
from tujie.generative.gan_training import GANPack, collapse_epoch
from tujie.models.gan import GAN, DCGANDiscriminator, DCGANGenerator, Discriminator, Generator


def tiny_gan(loss="non_saturating", shape=(1, 8, 8)):
    torch.manual_seed(0)
    return GAN(Generator(latent_dim=4, image_shape=shape, hidden=(16,)), Discriminator(shape, hidden=(16,)), generator_loss=loss)


def test_minimax_loss_is_log_one_minus_d_and_flat_where_d_wins():
    gan = tiny_gan("minimax")
    logits = torch.tensor([[-8.0], [0.0], [3.0]], requires_grad=True)  # D(G(z)) ≈ 0.0003, 0.5, 0.95
    loss = gan._generator_loss(logits)
    torch.testing.assert_close(loss, torch.log(1 - torch.sigmoid(logits)).mean())
    loss.backward()
    minimax_grad = logits.grad.clone()
    logits.grad = None
    tiny_gan()._generator_loss(logits).backward()  # -log D(G(z))
    # where D rejects the fake (logit -8), the minimax gradient is ~0 and the book's is ~-1/3 (strong)
    assert abs(minimax_grad[0].item()) < 1e-3 and abs(logits.grad[0].item()) > 0.3
    torch.testing.assert_close(tiny_gan()._generator_loss(logits), F.binary_cross_entropy_with_logits(logits, torch.ones(3, 1)))


def test_variants_start_from_identical_weights_and_diverge_by_loss_only():
    pack = GANPack.from_template(tiny_gan(), ["non_saturating", "minimax"], seed=3)
    a, b = pack.gans["non_saturating"], pack.gans["minimax"]
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert (a.generator_loss, b.generator_loss) == ("non_saturating", "minimax")
    images = torch.rand(64, 1, 8, 8) * 2 - 1
    logs = pack.train_epoch(images, batch_size=32)
    # same stream, same D step (the D loss does not depend on G's loss at the first batch): the D numbers of batch 1 agree,
    # and G's weights now differ
    assert set(logs) == {"non_saturating", "minimax"} and logs["minimax"]["g_loss"] < 0 < logs["non_saturating"]["g_loss"]
    assert not all(torch.equal(p, q) for p, q in zip(a.generator.parameters(), b.generator.parameters()))


def test_training_order_changes_nothing_and_checkpoint_resumes_exactly(tmp_path):
    images = torch.rand(64, 1, 8, 8) * 2 - 1
    one = GANPack.from_template(tiny_gan(), ["non_saturating", "minimax"], seed=1)
    one.train_epoch(images, 16)
    one.save(tmp_path / "last.safetensors", epoch=1)
    one.train_epoch(images, 16)
    two = GANPack.from_template(tiny_gan(), ["minimax", "non_saturating"], seed=1)  # other order, fresh weights
    state = two.load(tmp_path / "last.safetensors")
    assert state["epoch"] == 1
    two.train_epoch(images, 16)
    for name in ("non_saturating", "minimax"):
        for p, q in zip(one.gans[name].parameters(), two.gans[name].parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_collapse_rule_needs_d_to_win_until_the_end():
    won = {"d_fake": 0.01, "d_real": 0.99}
    assert collapse_epoch([{"epoch": 1, "d_fake": 0.4, "d_real": 0.6}, {"epoch": 2, **won}, {"epoch": 3, **won}]) == 2
    assert collapse_epoch([{"epoch": 1, **won}, {"epoch": 2, "d_fake": 0.2, "d_real": 0.97}]) is None
    assert collapse_epoch([{"epoch": 1, "d_fake": 0.01, "d_real": 0.9}]) is None  # D(x) not confident: no win


def test_mismatched_generator_and_discriminator_are_refused_naming_both_shapes():
    with pytest.raises(ShapeError, match=r"\(1, 28, 28\).*\(1, 32, 32\)"):
        GAN(DCGANGenerator(image_size=28, channels=1, features=4), DCGANDiscriminator(image_size=32, channels=1, features=4))
    with pytest.raises(ShapeError, match=r"\(1, 28, 28\).*\(3, 28, 28\)"):
        GAN(Generator(latent_dim=4, hidden=(8,)), Discriminator(image_shape=(3, 28, 28), hidden=(8,)))
    with pytest.raises(ConfigError, match="generator_loss"):
        tiny_gan("wasserstein")


def test_dcgan_at_28_pixels_adjusts_its_kernels():
    g, d = DCGANGenerator(latent_dim=8, image_size=28, channels=1, features=4), DCGANDiscriminator(28, 1, features=4)
    images = g(torch.randn(3, 8))
    assert images.shape == (3, 1, 28, 28) and d(images).shape == (3, 1)
    assert g.net[0].kernel_size == (7, 7) and d.net[-2].kernel_size == (7, 7)


@pytest.mark.data
def test_a_gan_run_resumes_and_extends_its_record(tmp_path):
    tiny = ["limit=128", "batch_size=64", "gan.fid_samples=64", "gan.fid_classifier_epochs=1", "gan.generator_hidden=[16]",
            "gan.discriminator_hidden=[16]", f"output_dir={tmp_path}", "run_name=r"]
    first = tj.run("mnist-gan", overrides=["epochs=1", *tiny], verbose=0)
    assert json.loads((first.run_dir / "gan.json").read_text())["variants"]["minimax"]["history"][0]["epoch"] == 1
    second = tj.run(None, overrides=["epochs=2"], resume=first.run_dir, verbose=0)
    record = json.loads((second.run_dir / "gan.json").read_text())
    assert [r["epoch"] for r in record["variants"]["non_saturating"]["history"]] == [1, 2]
    assert record["strip_epochs"] == [0, 1, 2] and second.summary["results"]["fid_minimax"] > 0


def test_the_report_notes_a_discriminator_that_won(tmp_path):
    from safetensors.torch import save

    from tujie._io import write_bytes, write_json

    def history(fakes):
        return [{"epoch": i + 1, "d_loss": 0.3, "g_loss": 1.0, "g_grad_norm": 1.0, "d_real": 1 - f, "d_fake": f}
                for i, f in enumerate(fakes)]

    variants = {"non_saturating": {"history": history([0.3, 0.2]), "fid": [[2, 50.0]], "collapse_epoch": None},
                "minimax": {"history": history([0.2, 0.01]), "fid": [[2, 90.0]], "collapse_epoch": 2}}
    write_json(tmp_path / "gan.json", {"dataset": "mnist", "architecture": "gan", "epochs": 2, "collapse_threshold": 0.05,
                                       "strip_epochs": [0, 2], "variants": variants,
                                       "fid": {"floor": 0.9, "classifier_accuracy": 0.99, "n_real": 10000, "n_samples": 10000}})
    write_bytes(tmp_path / "gan_strips.safetensors",
                save({f"{v}.{e}": torch.zeros(3, 1, 8, 8, dtype=torch.uint8) for v in variants for e in (0, 2)}))
    write_json(tmp_path / "summary.json", {"kind": "gan", "status": "finished", "results": {"fid": 50.0}})
    page = tj.build_report(tmp_path, lang="en").read_text(encoding="utf-8")
    assert "minimax: the discriminator won from epoch 2" in page
    assert "non-saturating: the discriminator won" not in page and 'id="gan-fid"' in page
