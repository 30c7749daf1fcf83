"""IMDB and SST-2 loaders on tiny fake files (bad lines, missing columns, missing files), and the real counts."""

import gzip
import os
import time
import zipfile

import pytest
import torch

from tujie.errors import ChecksumError, ConfigError, DataError, DataNotFoundError
from tujie.text import corpus as corpus_module
from tujie.text import imdb_texts, load_imdb, load_sst2

IMDB_HEADER = b"id,rating,label,text\n"


def write_imdb(folder, train_rows: bytes, test_rows: bytes = b'5,9,1,"Superb, truly."\n6,2,0,Awful\n'):
    (folder / "imdb").mkdir(parents=True, exist_ok=True)
    (folder / "imdb" / "train.csv.gz").write_bytes(gzip.compress(IMDB_HEADER + train_rows))
    (folder / "imdb" / "test.csv.gz").write_bytes(gzip.compress(IMDB_HEADER + test_rows))
    return folder


def test_imdb_reads_rows_and_skips_bad_lines_with_notes(tmp_path):
    rows = (b'0,3,0,"Dull.<br />Slow, and long."\n'           # line 2
            b'1,8,1,"Multi\nline review"\n'                     # lines 3-4
            b'2,7,1,"Caf\xe9 is not UTF-8 here"\n'              # line 5: a latin-1 byte
            b'3,4,0,""\n'                                       # line 6: empty text
            b'\n'                                               # line 7: empty line
            b'4,9,pos,"A label that is not 0/1"\n'              # line 8
            b'5,1\n'                                            # line 9: missing fields
            b'6,10,1,"L\xc3\xa9gant et dr\xc3\xb4le."\n')     # line 10: valid UTF-8 French
    corpus = load_imdb(write_imdb(tmp_path, rows), verify=False)
    assert corpus.train == [("Dull.<br />Slow, and long.", 0), ("Multi\nline review", 1), ("Légant et drôle.", 1)]
    assert corpus.test == [("Superb, truly.", 1), ("Awful", 0)]
    assert corpus.classes == ["negative", "positive"] and corpus.name == "imdb"
    notes = " ".join(corpus.notes)
    assert "3 training and 2 test reviews" in corpus.notes[0]
    for expected in ("1 line with bytes that are not valid UTF-8 (line 5)", "an empty text (line 6)",
                     "an empty line) (line 7)", "a label other than 0/1 (line 8)", "missing fields (2 of 4) (line 9)"):
        assert expected in notes
    texts, labels = corpus.texts_and_labels("test")
    assert texts == ["Superb, truly.", "Awful"] and labels.tolist() == [1, 0] and labels.dtype == torch.int64


def test_imdb_missing_column_is_an_error_naming_file_and_line(tmp_path):
    (tmp_path / "imdb").mkdir()
    (tmp_path / "imdb" / "train.csv.gz").write_bytes(gzip.compress(b"id,rating,review\n0,1,text\n"))
    with pytest.raises(DataError, match=r"train\.csv\.gz`, line 1: the header lacks the column\(s\) label, text") as e:
        imdb_texts(tmp_path, verify=False)
    assert "id,rating,label,text" in str(e.value) and e.value.fix


def test_imdb_not_gzip_and_empty_file(tmp_path):
    (tmp_path / "imdb").mkdir()
    path = tmp_path / "imdb" / "train.csv.gz"
    path.write_bytes(gzip.compress(IMDB_HEADER + b"0,1,0,x\n" * 100)[:30])  # cut off mid-stream
    with pytest.raises(DataError, match="Could not decompress"):
        imdb_texts(tmp_path, verify=False)
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(DataError, match="is empty"):
        imdb_texts(tmp_path, verify=False)


def test_imdb_checksum_and_missing_files(tmp_path):
    write_imdb(tmp_path, b"0,1,0,fine\n")
    with pytest.raises(ChecksumError):  # a fake file is not the published one
        load_imdb(tmp_path)
    with pytest.raises(DataNotFoundError, match="cannot be downloaded") as e:
        load_imdb(tmp_path / "empty")
    assert "TUJIE_DATA" in e.value.fix and "aclImdb" in str(e.value)


def test_imdb_texts_splits(tmp_path):
    write_imdb(tmp_path, b"0,1,0,one\n1,9,1,two\n")
    assert imdb_texts(tmp_path, verify=False) == ["one", "two"]
    assert imdb_texts(tmp_path, split="test", verify=False) == ["Superb, truly.", "Awful"]
    with pytest.raises(ConfigError, match="split"):
        imdb_texts(tmp_path, split="unsup", verify=False)


SST2_TRAIN = (b"sentence\tlabel\n"
              b"hide new secretions from the parental units \t0\n"       # line 2
              b"a charming journey . \t1\n"                              # line 3
              b"caf\xe9 society \t1\n"                                   # line 4: not UTF-8
              b"\n"                                                      # line 5
              b"  \t1\n"                                                 # line 6: empty sentence
              b"no label here\n"                                         # line 7
              b"too good \t2\n")                                         # line 8
SST2_DEV = b"sentence\tlabel\nit 's a charming and often affecting journey . \t1\nbleak \t0\n"


def test_sst2_reads_sentences_skips_bad_lines_and_uses_dev_as_test(tmp_path):
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "train.tsv").write_bytes(SST2_TRAIN)
    (tmp_path / "sst2" / "dev.tsv").write_bytes(SST2_DEV)
    corpus = load_sst2(tmp_path, verify=False)
    assert corpus.train == [("hide new secretions from the parental units", 0), ("a charming journey .", 1)]
    assert corpus.test == [("it 's a charming and often affecting journey .", 1), ("bleak", 0)]
    notes = " ".join(corpus.notes)
    assert "GLUE" in notes and "no labels" in notes
    for expected in ("not valid UTF-8 (line 4)", "empty line) (line 5)", "an empty text (line 6)",
                     "missing fields (1 of 2) (line 7)", "other than 0/1 (line 8)"):
        assert expected in notes


def test_sst2_missing_column(tmp_path):
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "train.tsv").write_bytes(b"index\tsentence\n0\tno labels\n")  # GLUE's test.tsv layout
    (tmp_path / "sst2" / "dev.tsv").write_bytes(SST2_DEV)
    with pytest.raises(DataError, match=r"train\.tsv`, line 1: the header lacks the column\(s\) label"):
        load_sst2(tmp_path, verify=False)


def test_sst2_extracted_from_the_glue_archive(tmp_path):
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "data" / "sst2" / "SST-2.zip", "w") as z:
        z.writestr("SST-2/train.tsv", SST2_TRAIN)
        z.writestr("SST-2/dev.tsv", SST2_DEV)
        z.writestr("SST-2/test.tsv", b"index\tsentence\n0\tx\n")
    corpus = load_sst2(tmp_path / "data", verify=False)
    assert len(corpus.train) == 2 and len(corpus.test) == 2
    cache = tmp_path / "cache" / "sst2"  # conftest points TUJIE_CACHE at tmp_path / "cache"
    assert (cache / "train.tsv").read_bytes() == SST2_TRAIN and sorted(os.listdir(cache)) == ["dev.tsv", "train.tsv"]


def test_sst2_missing_everywhere(tmp_path):
    with pytest.raises(DataNotFoundError, match="neither was GLUE's SST-2.zip") as e:
        load_sst2(tmp_path)
    assert "network disabled" in str(e.value) and "TUJIE_DATA" in e.value.fix


def test_corpus_split_names():
    c = corpus_module.TextCorpus([("a", 0)], [("b", 1)], ["negative", "positive"], "toy")
    assert c.notes == []
    with pytest.raises(ConfigError, match="'train' or 'test'"):
        c.texts_and_labels("validation")


# ---- the real files ($TUJIE_DATA) ---------------------------------------------------------------

@pytest.mark.data
def test_real_imdb_counts_balance_and_speed():
    start = time.perf_counter()
    corpus = load_imdb()
    seconds = time.perf_counter() - start
    assert (len(corpus.train), len(corpus.test)) == (25000, 25000)
    for split in ("train", "test"):
        _, labels = corpus.texts_and_labels(split)
        assert torch.bincount(labels).tolist() == [12500, 12500]
    assert len(corpus.notes) == 1  # no line was skipped
    assert "<br />" in corpus.train[0][0] or any("<br />" in t for t, _ in corpus.train[:50])  # verbatim reviews
    assert seconds < 10, f"load_imdb took {seconds:.1f} s"  # about 1.5-2 s on 2 busy cores


@pytest.mark.data
def test_real_sst2_counts():
    corpus = load_sst2()
    assert (len(corpus.train), len(corpus.test)) == (67349, 872)
    _, labels = corpus.texts_and_labels("train")
    assert torch.bincount(labels).tolist() == [29780, 37569]  # SOURCES.md: 37,569 positive / 29,780 negative
    assert len(corpus.notes) == 2
