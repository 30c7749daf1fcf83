"""The Tang poems: the quatrains' form, memorised lines, the split by poem, the stream's layout, OpenCC."""

from __future__ import annotations

import pytest

from tujie.errors import ChecksumError, ConfigError
from tujie.lm import poetry
from tujie.lm.poetry import Poem, keeps_form, memorised_lines, quatrains, split_poems, training_text

JINGYESI = "牀前看月光，疑是地上霜。舉頭望山月，低頭思故鄉。"
DENG = "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"
QIANGJIN = "君不見黃河之水天上來，奔流到海不復回。"


def poem(text, i=0):
    return Poem("李白", "t", str(i), text)


@pytest.mark.parametrize("text, chars, kept", [
    (JINGYESI, 5, True), (JINGYESI + "\n", 5, True), (JINGYESI, 7, False),
    ("朝辭白帝彩雲間，千里江陵一日還。兩岸猿聲啼不住，輕舟已過萬重山。", 7, True),
    ("牀前看月光，疑是地上霜。舉頭望山月。", 5, False),  # three lines
    ("牀前看月光。疑是地上霜，舉頭望山月，低頭思故鄉。", 5, False),  # the punctuation out of place
    ("牀前看月光，疑是地上霜。舉頭望山，低頭思故鄉。", 5, False),  # a line one character short
    ("牀前看月光，疑是地上霜。舉頭望山月，低頭思故鄉。牀前看月光，", 5, False),  # it went on
    ("牀前看月光,疑是地上霜.舉頭望山月,低頭思故鄉.", 5, False),  # ASCII punctuation is not the form
    ("牀前看月光，疑是地上霜。舉頭望山□，低頭思故鄉。", 5, False),  # a lost character is not an ideograph
])
def test_the_form_of_a_quatrain(text, chars, kept):
    assert keeps_form(text, chars) is kept


def test_quatrains_pick_by_line_length_and_refuse_other_lengths():
    poems = [poem(JINGYESI, 0), poem(QIANGJIN, 1), poem(DENG, 2),
             poem("朝辭白帝彩雲間，千里江陵一日還。兩岸猿聲啼不住，輕舟已過萬重山。", 3)]
    assert [p.id for p in quatrains(poems, 5)] == ["0", "2"]
    assert [p.id for p in quatrains(poems, 7)] == ["3"]
    assert [p.id for p in quatrains(poems, None)] == ["0", "2", "3"]
    with pytest.raises(ConfigError, match="chars=6"):
        quatrains(poems, 6)


def test_memorised_lines_count_only_whole_lines_of_five_or_seven():
    training = [poem(JINGYESI), poem(DENG, 1)]
    generated = ["疑是地上霜。舉頭望明月，", "黃河入海流。春風不度關，\n", "山月，", "欲窮千里目更上，"]
    # lines: 疑是地上霜 (copied), 舉頭望明月, 黃河入海流 (copied), 春風不度關; 山月 and the 7-character run are not copied lines
    assert memorised_lines(generated, training) == (2, 5)
    assert memorised_lines([], training) == (0, 0)


def test_the_split_is_by_poem_seeded_and_complete():
    poems = [poem(f"{i}", i) for i in range(50)]
    train, val = split_poems(poems, 0.2, seed=3)
    assert len(val) == 10 and sorted(p.id for p in train + val) == sorted(p.id for p in poems)
    assert split_poems(poems, 0.2, seed=3) == (train, val) and split_poems(poems, 0.2, seed=4)[1] != val


def test_one_poem_per_line_so_a_newline_starts_and_ends_a_poem():
    text = training_text([poem(JINGYESI), poem(DENG, 1)])
    assert text.split("\n") == ["", JINGYESI, DENG, ""]


def test_opencc_converts_both_ways():
    assert poetry.to_simplified("風來時無書") == "风来时无书"
    assert poetry.to_traditional("床前明月光") == "牀前明月光"  # the corpus's own form of 床


@pytest.mark.data
def test_the_real_poem_files_read_checked_and_simplified():
    # all 58 files give 57,603 poems, 3,903 five- and 10,492 seven-character quatrains (data/SOURCES.md §12:
    # the count of the form); the first two files keep the test quick
    poems = poetry.load_poems(files=2)
    assert len(poems) == 2_000 and poems[0].author == "太宗皇帝" and poems[0].text.startswith("秦川雄帝宅，函谷壯皇居。")
    assert len(quatrains(poems, 5)) == 185 and len(quatrains(poems, None)) == 401
    simplified = poetry.load_poems(files=1, simplified=True)
    assert simplified[0].text.startswith("秦川雄帝宅，函谷壮皇居。") and simplified[0].id == poems[0].id


def test_a_changed_poem_file_is_refused(tmp_path):
    folder = tmp_path / "chinese-poetry" / "全唐诗"
    folder.mkdir(parents=True)
    (folder / "poet.tang.0.json").write_text('[{"author": "x", "title": "y", "id": "1", "paragraphs": ["a"]}]', encoding="utf-8")
    with pytest.raises(ChecksumError):
        poetry.load_poems(tmp_path, files=1)
