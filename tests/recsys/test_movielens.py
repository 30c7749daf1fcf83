"""MovieLens 100K files: parsed to ids from 0, bad lines and out-of-range ids named, the real files pinned."""

import numpy as np
import pytest

from tujie.errors import ChecksumError, DataError
from tujie.recsys import movielens


def test_ratings_become_zero_based_arrays():
    r = movielens.parse_ratings("1\t31\t4\t880000000\n943\t1682\t1\t5\n\n", "u.data")
    assert r.users.tolist() == [0, 942] and r.items.tolist() == [30, 1681]
    assert r.ratings.dtype == np.float32 and r.ratings.tolist() == [4.0, 1.0] and r.timestamps.tolist() == [880000000, 5]


@pytest.mark.parametrize("text, words", [("1\t31\tfour\t880000000\n", ["my.data line 1", "four integers"]),
                                         ("1\t31\t4\n", ["my.data line 1"]),
                                         ("1\t2\t3\t4\n944\t1\t5\t0\n", ["my.data line 2", "user id 944", "1..943"]),
                                         ("1\t0\t5\t0\n", ["item id 0", "1..1682"]),
                                         ("", ["holds no ratings"])])
def test_a_bad_line_or_an_id_out_of_range_is_named_with_its_file_and_line(text, words):
    with pytest.raises(DataError) as caught:
        movielens.parse_ratings(text, "my.data")
    assert all(w in str(caught.value) for w in words), str(caught.value)


def test_a_changed_file_is_refused_by_its_checksum(tmp_path):
    (tmp_path / "movielens-100k").mkdir()
    (tmp_path / "movielens-100k" / "u.data").write_text("1\t1\t5\t0\n")
    with pytest.raises(ChecksumError):
        movielens.load_ratings("u.data", data_dir=tmp_path)
    with pytest.raises(DataError, match="no file `u9.base`"):
        movielens.path("u9.base", data_dir=tmp_path)


@pytest.mark.data
def test_the_real_files_hold_what_grouplens_says():
    r = movielens.load_ratings("u.data")
    assert len(r) == 100_000 and r.users.max() == 942 and r.items.max() == 1681
    assert r.ratings.mean() == pytest.approx(3.5299, abs=1e-4)
    base, test = movielens.load_ratings("u1.base"), movielens.load_ratings("u1.test")
    assert (len(base), len(test)) == (80_000, 20_000)
    titles = movielens.load_titles()
    assert titles[0] == "Toy Story (1995)" and all(titles) and len(titles) == 1682
    assert any("é" in t for t in titles)  # u.item is Latin-1: accented titles decode, not replaced
