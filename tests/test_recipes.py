"""Every shipped recipe is a valid config naming a registered model and dataset, and states its expected result."""

import pytest

import tujie as tj
from tujie.recipes import list_recipes
from tujie.runner import resolve_config


@pytest.mark.parametrize("name", list(list_recipes()))
def test_recipe_is_valid_and_states_its_source(name):
    config = resolve_config(name)
    assert config.recipe == name and config.description
    # the summary key the expected value is checked against: test_* for a trained model or an
    # ensemble, cv_* for a cross-validation's means, lab_* for the overfitting lab's gap figures,
    # the analogy accuracy or word-similarity correlation for word vectors
    prefix = {"train": "test_", "ensemble": "test_", "cross_validation": "cv_", "overfitting_lab": "lab_",
              "forecast": "test_", "translation": "test_", "embeddings": ("analogy_", "wordsim353_"),
              # chapter 3 made visible: a derivative, a gradient ratio in decades, a distance to a minimum
              "activations_losses": ("sigmoid_", "tanh_"), "deep_gradients": "relu_he_over_",
              "optimizer_paths": ("rosenbrock_", "saddle_"),
              # autoencoders: a test reconstruction error; the VAE: its test ELBO; anomaly detection: its ROC-AUC
              "autoencoder": ("dense_", "conv_"), "vae": "test_elbo", "anomaly": "roc_auc",
              # backprop from scratch: a 2-D point set's accuracy reached by the scratch engine
              "backprop_scratch": ("moons_", "circles_", "xor_"),
              # GANs: the first variant's classifier FID (lower is better)
              "gan": "fid",
              # search compared: a sampler's best-found value after the budget, mean over seeds
              "search_compare": ("grid_", "random_", "tpe_", "gp_"),
              # transfer: one way's mean test accuracy at one share of the target's labels
              "transfer": ("scratch_", "linear_probe_", "fine_tune_", "gradual_"),
              # BERT-style: the same, after masked-language-model pretraining, or the masked-token accuracy itself
              "mlm": ("scratch_", "fine_tune_", "linear_probe_", "features_", "masked_accuracy"),
              # compression: one method's (or the base's) test error or accuracy on the same trained model
              "compress": ("base_", "prune_", "channels_", "lowrank_", "student_", "distill_", "quantize_", "qat_"),
              # reinforcement learning: the greedy policy's evaluation (success rate or mean return), or steps to a return
              "rl_tabular": "eval_", "rl_deep": ("eval_", "steps_to_"),
              # applications (issue 18): a test accuracy over seeds, a ranking or rating figure, a box or pixel score,
              # the style loss's fall, an error rate on an unheard speaker
              "graph": "test_", "recommend": ("neumf_", "gmf_", "mlp_", "mf_", "popularity_"),
              "detection": "map_", "segmentation": ("miou", "dice"), "style_transfer": "style_loss_",
              "speech_ctc": ("cer", "wer", "digit_"),
              # trust (issue 19): accuracy at a privacy budget, or under an attack at a radius
              "dp": ("dp_", "test_"), "adversarial": ("robust_", "clean_"), "federated": ("fed_",),
              "lm": ("val_", "lm_", "test_"), "lm_scaling": ("scaling_", "val_"), "lora": ("lora_", "val_")}[config.kind]
    assert config.expected is not None and config.expected.source and config.expected.metric.startswith(prefix)
    tj.models.spec(config.model.name)  # raises for an unknown model
    from tujie.text.classification import is_text_corpus

    registered = [d.replace("_", "-") for d in tj.datasets.list()]
    from tujie.timeseries.windows import SERIES

    assert (config.data.name.replace("_", "-") in registered or is_text_corpus(config.data.name) or config.data.name in SERIES
            or (config.kind == "translation" and config.data.name == config.translation.corpus))
    if config.data.augment:
        from tujie.train.builders import build_batch_transforms

        assert build_batch_transforms(config.data.augment, num_classes=10) != (None, None)
    for variant in (config.lab.variants if config.lab else ()):  # every lab variant is itself a valid config
        from tujie import kinds

        kinds.validate(kinds.apply_overrides(config.model_dump(mode="json"), variant.set))
