"""Text classification through the runner on a slice of the real corpora (needs TUJIE_DATA)."""

import json

import pytest
import torch

import tujie as tj
from tujie.cli import main
from tujie.errors import DataError

TINY = ["limit=400", "epochs=1", "batch_size=32", "text.max_len=64", "run_name=r"]


@pytest.mark.data
def test_imdb_lstm_run_saves_its_tokenizer_mistakes_and_reloads_for_prediction(tmp_path, capsys):
    result = tj.run("imdb-lstm", overrides=[*TINY, f"output_dir={tmp_path}", "model.embed_dim=16", "model.hidden=16"],
                    verbose=0)
    run_dir = result.run_dir
    assert (run_dir / "tokenizer.json").is_file() and result.summary["status"] == "finished"
    assert 0.0 <= result.summary["test"]["accuracy"] <= 1.0 and "auc" in result.summary["test"]
    samples = json.loads((run_dir / "text_samples.json").read_text())
    assert all(row["predicted"] != row["label"] for row in samples["wrong"])
    confidences = [row["confidence"] for row in samples["wrong"]]
    assert confidences == sorted(confidences, reverse=True)
    html = result.report.read_text()
    assert "Most confident mistakes" in html and "<script" not in html.lower()
    assert result.summary["model"]["total_params"] > 0  # the summary ran on token ids, not floats

    code = main(["predict", str(run_dir), "A wonderful film.", "Dull and far too long."])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(out) == 2 and all(line.split()[0] in ("negative", "positive") for line in out)
    classifier = tj.text.classification.TextClassifier.from_run(run_dir)
    with pytest.warns(UserWarning, match="truncated"):
        classifier.predict(["word " * 200])
    with pytest.raises(DataError, match="Empty text"):
        classifier.predict([""])


@pytest.mark.data
def test_a_trained_sst2_run_is_explained_word_by_word_and_cannot_predict_without_its_tokenizer(tmp_path):
    from tujie.trust.explain import EXPLAIN_FILE

    result = tj.run("sst2-lstm", overrides=[*TINY, f"output_dir={tmp_path}", "model.embed_dim=16", "model.hidden=16"],
                    verbose=0)
    run_dir = result.run_dir  # `tujie explain` end to end (issue 19): token attributions shaded over the sentences
    assert main(["explain", str(run_dir), "--images", "2", "-q"]) == 0
    info = json.loads((run_dir / EXPLAIN_FILE).read_text())
    assert info["task"] == "text" and 1 <= len(info["examples"]) <= 4
    assert all(len(e["tokens"]) == len(e["attributions"]) > 0 for e in info["examples"])
    word = next(t for e in info["examples"] for t in e["tokens"] if t.isalpha())
    assert 'id="explain"' in (run_dir / "report.html").read_text() and f">{word}</span>" in (run_dir / "report.html").read_text()
    assert main(["report", str(run_dir), "--lang", "zh"]) == 0 and 'id="explain"' in (run_dir / "report.html").read_text()

    (result.run_dir / "tokenizer.json").unlink()
    with pytest.raises(DataError, match="has no tokenizer.json"):
        tj.text.classification.TextClassifier.from_run(result.run_dir)


@pytest.mark.data
def test_textcnn_and_bpe_tokenizer(tmp_path):
    result = tj.run("imdb-textcnn", overrides=[*TINY, f"output_dir={tmp_path}", "text.tokenizer=bpe",
                                               "text.vocab_size=500", "model.embed_dim=16", "model.filters=8"], verbose=0)
    tokenizer = tj.text.load_tokenizer(result.run_dir / "tokenizer.json")
    assert type(tokenizer).__name__ == "BPETokenizer" and tokenizer.vocab_size <= 500


@pytest.mark.data
def test_transformer_run_reads_lengths_and_shows_attention_over_the_words(tmp_path):
    result = tj.run("imdb-transformer", overrides=[*TINY, f"output_dir={tmp_path}", "text.vocab_size=600",
                                                   "model.d_model=16", "model.num_heads=2", "model.num_layers=1",
                                                   "model.dim_feedforward=32", "model.max_len=64", "scheduler.warmup=2"],
                    verbose=0)
    assert result.summary["status"] == "finished"
    attention = json.loads((result.run_dir / "text_samples.json").read_text())["attention"]
    assert 1 <= len(attention) <= 4
    for item in attention:
        assert len(item["tokens"]) == len(item["weights"]) and abs(sum(item["weights"]) - 1) < 1e-3
    assert 'id="text-attention"' in result.report.read_text()


@pytest.mark.data
def test_embeddings_run_scores_analogies_and_maps_the_probe_words(tmp_path):
    result = tj.run("imdb-word2vec", overrides=["limit=300", "embeddings.epochs=1", "embeddings.workers=1",
                                                "embeddings.dim=16", f"output_dir={tmp_path}"], verbose=0)
    run_dir = result.run_dir
    report = json.loads((run_dir / "embeddings.json").read_text())
    assert report["vocab_size"] > 100 and report["analogies"]["covered"] > 0
    assert len(report["projection"]["xy"]) == len(report["projection"]["words"]) > 4
    assert set(report["neighbours"]) <= {"good", "bad", "movie", "actor", "funny", "horror", "music", "boring"}
    vectors = tj.text.vectors.WordVectors.load(run_dir)  # the run directory is a vectors folder
    assert len(vectors) == report["vocab_size"] and vectors.dim == 16
    assert "analogy_accuracy" in result.summary["results"] and 'id="embeddings"' in result.report.read_text()

    # the recipe pair of the docs: `text.vectors: imdb-word2vec` finds this run in the same output_dir
    classifier = tj.run("sst2-lstm", overrides=[*TINY, f"output_dir={tmp_path}", "model.hidden=16", "model.embed_dim=16",
                                                "text.vectors=imdb-word2vec", "text.freeze_vectors=true"], verbose=0)
    tokenizer = tj.text.load_tokenizer(classifier.run_dir / "tokenizer.json")
    weights = tj.train.load_weights(classifier.run_dir / "best.safetensors")["embedding.weight"]
    torch.testing.assert_close(weights[tokenizer.encode("movie")[0]], vectors["movie"])


@pytest.mark.data
def test_pretrained_vectors_go_into_the_classifier_embedding(tmp_path):
    from tujie.errors import ConfigError
    from tujie.text.vectors import WordVectors

    words = ["the", "movie", "good", "bad", "a", "film", "and", "of"]
    vectors = WordVectors(words, torch.randn(len(words), 16, generator=torch.Generator().manual_seed(0)))
    folder = vectors.save(tmp_path / "vectors")
    base = [*TINY, f"output_dir={tmp_path}", "model.hidden=16", f"text.vectors={folder / 'vectors.safetensors'}",
            "text.freeze_vectors=true"]
    result = tj.run("sst2-lstm", overrides=[*base, "model.embed_dim=16"], verbose=0)
    assert result.summary["status"] == "finished"
    tokenizer = tj.text.load_tokenizer(result.run_dir / "tokenizer.json")
    weights = tj.train.load_weights(result.run_dir / "best.safetensors")["embedding.weight"]
    torch.testing.assert_close(weights[tokenizer.encode("movie")[0]], vectors["movie"])  # frozen: still the vector
    with pytest.raises(ConfigError, match="embed_dim=16"):
        tj.run("sst2-lstm", overrides=[*base, "model.embed_dim=8", "run_name=r2"], verbose=0)
    old_layout = tmp_path / "old-run" / "vectors.safetensors"  # tujie 0.1.0's embeddings runs: one folder down
    vectors.save(old_layout)
    result = tj.run("sst2-lstm", overrides=[*base[:-2], f"text.vectors={old_layout.parent}", "model.embed_dim=16",
                                            "run_name=r3"], verbose=0)
    assert result.summary["status"] == "finished"


@pytest.mark.data
def test_vectors_named_by_recipe_need_a_run_of_it(tmp_path):
    from tujie.errors import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="tujie run imdb-word2vec"):
        tj.run("sst2-lstm", overrides=[*TINY, f"output_dir={tmp_path}", "text.vectors=imdb-word2vec"], verbose=0)


@pytest.mark.data
def test_translation_run_scores_bleu_translates_and_refuses_the_wrong_direction(tmp_path, capsys):
    result = tj.run("tatoeba-fr-en-attention", overrides=["limit=400", "epochs=1", "model.embed_dim=16",
                                                          "model.hidden_size=16", "translation.beam=2",
                                                          f"output_dir={tmp_path}", "run_name=t"], verbose=0)
    run_dir = result.run_dir
    report = json.loads((run_dir / "translation.json").read_text())
    assert report["train_pairs"] == 400 and report["test_pairs"] == 542
    assert 0.0 <= report["beam"]["bleu"] <= 100.0 and report["greedy"]["by_length"]
    assert report["attention"][0]["weights"] is not None  # Bahdanau: a heatmap to draw
    assert 'id="translation"' in result.report.read_text()
    capsys.readouterr()
    assert main(["translate", str(run_dir), "je suis content .", "--beam", "2"]) == 0
    assert capsys.readouterr().out.strip()
    assert main(["translate", str(run_dir), "i am happy .", "--from", "en"]) != 0
    assert "translates" in capsys.readouterr().err


@pytest.mark.data
def test_transformer_translation_run_on_multi30k(tmp_path):
    result = tj.run("multi30k-de-en-transformer", overrides=[
        "limit=300", "epochs=1", "translation.vocab_size=300", "translation.beam=1", "model.d_model=16",
        "model.num_heads=2", "model.num_encoder_layers=1", "model.num_decoder_layers=1", "model.dim_feedforward=32",
        "scheduler.warmup=2", f"output_dir={tmp_path}", "run_name=m"], verbose=0)
    report = json.loads((result.run_dir / "translation.json").read_text())
    assert report["direction"] == "de-en" and report["test_pairs"] == 1000
    assert result.summary["results"]["test_bleu"] >= 0.0 and (result.run_dir / "best.safetensors").is_file()


@pytest.mark.data
def test_glove_run_writes_vectors_and_its_report(tmp_path):
    result = tj.run("imdb-glove", overrides=["limit=200", "embeddings.epochs=2", "embeddings.workers=1",
                                             "embeddings.dim=8", f"output_dir={tmp_path}", "run_name=g"], verbose=0)
    report = json.loads((result.run_dir / "embeddings.json").read_text())
    assert report["method"] == "glove" and len(report["history"]) == 2 and report["vocab_size"] > 100
    assert 'id="embeddings"' in result.report.read_text()


@pytest.mark.parametrize("loss,num_classes", [("cross_entropy", 3), ("bce_with_logits", 1)])
def test_one_pass_over_the_test_texts_gives_what_evaluate_and_the_metrics_give(loss, num_classes):
    from tujie.evaluate import classification_metrics, classification_metrics_from_outputs
    from tujie.kinds._test_phase import _scores_of_outputs, _text_outputs
    from tujie.text.data import TextDataset

    torch.manual_seed(0)
    lengths = torch.randint(1, 30, (70,)).tolist()
    sequences = [torch.randint(4, 50, (n,)).tolist() for n in lengths]
    targets = torch.randint(0, max(num_classes, 2), (70,))
    dataset = TextDataset(sequences, targets.float() if num_classes == 1 else targets)
    model = tj.models.create("lstm_classifier", vocab_size=50, num_classes=num_classes, embed_dim=8, hidden=8)
    learner = tj.Learner(model, loss=loss, optimizer="adam", metrics=["accuracy", "f1"], device="cpu")

    outputs = _text_outputs(learner, dataset)  # one pass in length-sorted batches, back in dataset order
    assert outputs.shape == (70, num_classes)
    with torch.no_grad():
        torch.testing.assert_close(outputs[5], model.eval()(torch.tensor([sequences[5]]), torch.tensor([lengths[5]]))[0])
    one_pass = _scores_of_outputs(learner, outputs, dataset.targets)
    streamed = learner.evaluate(dataset, verbose=0)
    assert set(one_pass) == {"loss", "accuracy", "f1"}
    for key in one_pass:
        assert one_pass[key] == pytest.approx(streamed[key], abs=1e-5), key
    task = "multiclass" if num_classes > 1 else "binary"
    from_outputs = classification_metrics_from_outputs(outputs, dataset.targets, task=task, batch_size=16)
    direct = classification_metrics(learner, dataset)
    assert from_outputs["accuracy"] == pytest.approx(direct["accuracy"])
    assert from_outputs["auc"] == pytest.approx(direct["auc"], abs=1e-6)
    assert torch.equal(from_outputs["confusion_matrix"], direct["confusion_matrix"])
