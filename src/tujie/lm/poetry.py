"""The Tang poems of the chinese-poetry collection: load them, pick the quatrains, check a poem's form, find copied lines.

The corpus is the `全唐诗/` folder of chinese-poetry (57,607 poems, traditional characters; data/SOURCES.md §12).
A poem's `text` is its paragraphs joined with nothing between them, so a five-character quatrain reads
`XXXXX，XXXXX。XXXXX，XXXXX。` (24 characters). A language model sees one poem per line, without the title:

    秦川雄帝宅，函谷壯皇居。綺殿千尋起，離宮百雉餘。...\n
    巖廊罷機務，崇文聊駐輦。...\n

so a newline means "a new poem starts" and "this poem is over": generation is prompted with a newline and the
first line ("\\n床前明月光，") and stops at the next newline (`training_text`).

Simplified characters: `to_simplified` / `to_traditional` convert through OpenCC (`pip install opencc`). The
corpus keeps the old forms (牀, 爲); converting loses distinctions (乾/幹/干 all become 干), so the models learn
the traditional text unless `simplified=True`.

Example:
    >>> keeps_form("牀前看月光，疑是地上霜。舉頭望山月，低頭思故鄉。")
    True
    >>> keeps_form("牀前看月光，疑是地上霜。舉頭望山月。")
    False
    >>> memorised_lines(["疑是地上霜。白日依山盡，"], [Poem("李白", "夜思", "x", "牀前看月光，疑是地上霜。")])
    (1, 2)
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from ..errors import ConfigError, DataError

DATASET = "chinese-poetry"
FILE_NUMBERS = tuple(range(0, 58000, 1000))  # 全唐诗/poet.tang.0.json ... poet.tang.57000.json
_URL = "https://raw.githubusercontent.com/chinese-poetry/chinese-poetry/master/"
# sha256 of each poem file (the copy of commit 99ebbef7e134: data/SOURCES.md §12, chinese-poetry/SHA256SUMS)
SHA256 = {
    0: "4f88f429938082523cdc72a1612bd7a7c3e3f7a33f8192c61ae51340efc3c92d",
    1000: "6e703b8d8dcedbd6110f6d48d043665ca2131db2035a5bfcef5e59a19aeb6d75",
    2000: "ec28efa7e2ae9cdbbba09f0ed186e32ccae47a325ad1e5816b7ad56071c1665a",
    3000: "9e4ba2323752b6b9fbdba875cdbc6a26636fe0cabc85fd066370d4915952001f",
    4000: "b8a7946c879b9658a6c667a4c55f776fae7e5e00a17789ab06b274c1429afc66",
    5000: "a0306e6962cff01639ad9a00b042a201b8dec1f30fa5d768a7b112589887861e",
    6000: "982a21d2b15922b406911f1c825785054314c686da86b2155d7aebb362d22771",
    7000: "a6fb69d7b4343c904dc56ae5aae34facc2478d196b51c37ceba9d1e2f171b342",
    8000: "ac3848e95b02736168003863795de4474838c2d6a71a24ca2a4a280ea5177773",
    9000: "b99d6596e3a1fe1a661652383083f92d196b8baf4e461d087081d5e1e1b7a51f",
    10000: "b97d1c5509ab62f5b433dee2020c11c4deda4542e276683d1ada6619c34c2113",
    11000: "9adf1835246053c821d99af39ce9092e14a94e1baf91740098bd9fc6f6f1cd27",
    12000: "ec43d055a219d52ecdb58cd30a8a444189392f0d68b92a41495df1c72c5fd095",
    13000: "eb9c85072d7913bb972e07c72f0123e9d7addca22cfd833cb79a5d74b1c76ebf",
    14000: "1e366dd3fb5a011091524bed36e4edff5d015bf0ddb14143f298515387dbd9a9",
    15000: "0386e58f46517daa3af0e0f385e0223f1efc0dac53afbe8fea64f99074d870b7",
    16000: "1c477aef1fc50523f9baf10f29d2d89201a14c4c73001c1c041d0fe8464d11db",
    17000: "11bac8333b2042975b9844423d113ff2c6fdf701c8b08a5b3aaa6bc9472222de",
    18000: "37543a147d16e3576d5f45ba8f7b8b51fc311bc10eddae9440f16f2d5ae885c2",
    19000: "dea74b41bc807ce2527bb119862a251e3a92b6f69bdf9f98b1434a8336830542",
    20000: "8ccf0783888b15bec60d0253e278cd4b67e94a77725df8ed079d4d8062d050b4",
    21000: "bddae814c82bf6a9fd294504aa48794bca5f03e986110739b1577aa811125cbd",
    22000: "d7e7efe3f67415455ae93974a5aa67427e99f6713fde27920bfb657ad3204c4a",
    23000: "220a535a762349ec1beed00f1dc11293ccefc70bda15c5258bbcab208b14337f",
    24000: "2f40a4ec0e4469c29f0f028d7a4ad73b83850aa271be9b63ea0c08de6e094dee",
    25000: "7e7c00ba3f7a95e97de5440f85affa9d54b420d31995b449e97a3e9ea00259f5",
    26000: "74b5bed25622da1611928fdb31297fafadaf2876ce32ddb0c8b6d12d772979f4",
    27000: "11626fcc310bbbcc601f7c8c4d8a664cef4907076cd7ec4f16268ee5b921ba44",
    28000: "86a15affa95859046f869ffd4850886250d1a181e5151b1f096f728fb2d67502",
    29000: "e1a0cffe17b4f109399db38f2b23f9b6668b8ca1c3c24e36d5cbe4f40a925862",
    30000: "e71996f771d15476bae48751081b473b381774b5d335f6163b183f70a2eaed01",
    31000: "f1efaf172d4f6fa9aaacfa4160feb766189989c3264da6ce3a6d64a7c97097bb",
    32000: "fcb2096245719199249ad23e75eac6997b5a4341564dd1cf73ce8008975b3d74",
    33000: "35abb37f65817ee4630cfeb2db286832e505873c477e12f14693bcd20e920885",
    34000: "4b656a62b6a187792c96a632c7e33f443eabda8b48c4fb5dfdda72cf02003095",
    35000: "a9671b350e58b805fda88b2c17fa0bf3a05313017d28485010e6f60a69bdf945",
    36000: "1c8e71a32743b37d318bf8beb44b8809a8079011231cf3c7106e2c59f03c55b4",
    37000: "4c37d2d92ee6fdd73299ef13c91e17b9cbb11ef59d1e024254db1eceb95dc7ae",
    38000: "08b2ce85e59eac59fe621921b62c15528e9dfb6a102994297703ad67e14aa83f",
    39000: "791d0171fe1dc88cee8424ae0281f495ed0dcdf042f97f2a3fc9b37e05e9426c",
    40000: "851d0c3cb796c7f7c63a7765e28564b2c3be3d9691c9f43f88d4d3c64034b5d8",
    41000: "3c12f59a5103e582eed9fe6ae13affddc030a31e9956efb13cb7768296ba7396",
    42000: "060026beb06028864bce48e8074e2690f92a1dc5a76ee91f98f2d62b5f02a15c",
    43000: "de5e658dccbcf0d2b38312b39a2423459b88ef893830bc145d453d82887a5753",
    44000: "8c6d550818f5390413bc58fbb3af059d3fa4a92264b1bcf84439c2b0bb043985",
    45000: "5177a4747b785f04897c36b77d5e033b11a7bcad759d1557fdb425166b8767f3",
    46000: "287e548147e6959306b74c862a1ebe43cdca39adee34e2c63ae5d3b5eaced1f5",
    47000: "8b43cce475ed43b1105a12a8bdcef32ac22dc056c5f2c616a2976a4103b5d8ac",
    48000: "8df4861e8d7bc114e91d0a5e37d193f662485cd88b8d09289cc5ac9ab243c3ed",
    49000: "418e5a082cb70c4f85ce842affec8828a53f6296882e45339c74d553fc46495e",
    50000: "894bf4e729932d2b48ba731a48075347cf55626c08ac9f30b2fe412ca9e4e895",
    51000: "9bd1b263807c5c64bca773b76d4861a49af19b76184f88260d6080bb03311928",
    52000: "1124f4b27f46bd1ffaafdda530719eddbe41858778a0a13e4557ea4eb49ffef0",
    53000: "75841062fa939e72ee12669859933c9178b88a5c5492bc9ba84d9ef7c6f1e65a",
    54000: "cd2ba326b80ff8490723ad9fb1ace812306f0e433b74268420165068b0a975ac",
    55000: "3782736dfee847958363d4adeff1236f148aff3726f2964963b17b06dad2f97b",
    56000: "274ad6e13c069e35856e53b5dee6821ad2aa9bf8b2a5f969e2eb1234fe954bca",
    57000: "e04c137b040c1a91e16614178c189d0c30a68e1d4657ea8fde8467601e3ac121",
}

# one CJK ideograph (the basic block, extension A, compatibility ideographs, extensions B and later)
CJK = "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"
_LINE = re.compile(f"{CJK}+")
_FORMS = {n: re.compile(f"(?:{CJK}{{{n}}}，{CJK}{{{n}}}。){{2}}") for n in (5, 7)}


@dataclass(frozen=True)
class Poem:
    """One poem: its author, title, the collection's id, and its paragraphs joined (`text`)."""

    author: str
    title: str
    id: str
    text: str


def poem_file(number: int) -> str:
    """The collection's path of one poem file, e.g. `全唐诗/poet.tang.1000.json`."""
    return f"全唐诗/poet.tang.{number}.json"


def load_poems(data_dir=None, simplified: bool = False, files: int | None = None) -> list[Poem]:
    """The Tang poems, in the collection's order, each file checked against its sha256 first.

    Args:
        data_dir: the folder holding `chinese-poetry/`; default `$TUJIE_DATA`, then the download cache.
        simplified: convert every poem to simplified characters (OpenCC t2s).
        files: read only the first N of the 58 files (about 1,000 poems each; quick tests).

    Returns:
        A list of `Poem`; the 4 poems without paragraphs are left out.

    Raises:
        DataNotFoundError: a file is nowhere (the error names the places looked in).
        ChecksumError: a file differs from the collection's copy.
        DataError: a file is not the collection's JSON.

    Example:
        >>> poems = load_poems(files=1)  # doctest: +SKIP
        >>> poems[0].author, poems[0].text[:12]  # doctest: +SKIP
        ('太宗皇帝', '秦川雄帝宅，函谷壯皇居。')
    """
    from ..data._files import resolve

    numbers = FILE_NUMBERS if files is None else FILE_NUMBERS[:max(1, files)]
    poems = []
    for number in numbers:
        name = poem_file(number)
        path = resolve(DATASET, name, sha256=SHA256[number], urls=(_URL + quote(name),), data_dir=data_dir)
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
            poems += [Poem(str(r.get("author", "")), str(r.get("title", "")), str(r.get("id", "")), "".join(r["paragraphs"]))
                      for r in records if r.get("paragraphs")]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise DataError(f"{path} is not a poem file of chinese-poetry.", expected="a JSON list of poems with paragraphs",
                            received=f"{type(e).__name__}: {e}", fix="Copy the file again from the collection.") from None
    if simplified:
        convert = _converter("t2s")
        poems = [Poem(convert(p.author), convert(p.title), p.id, convert(p.text)) for p in poems]
    return poems


def quatrains(poems: list[Poem], chars: int | None = 5) -> list[Poem]:
    """The poems in the form of a quatrain: two couplets of `chars` (5 or 7; None: either) characters.

    The form is counted, not the genre (data/SOURCES.md: 3,903 five- and 10,492 seven-character poems).

    Example:
        >>> [p.title for p in quatrains([Poem("a", "short", "1", "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"),
        ...                              Poem("b", "long", "2", "國破山河在，城春草木深。")])]
        ['short']
    """
    if chars not in (5, 7, None):
        raise ConfigError("A quatrain has lines of 5 or 7 characters.", expected="chars=5, 7 or None",
                          received=f"chars={chars!r}", fix="Pass chars=5 or chars=7.")
    return [p for p in poems if any(keeps_form(p.text, n) for n in ((chars,) if chars else (5, 7)))]


def keeps_form(text: str, chars: int = 5) -> bool:
    """Whether `text` is a quatrain: `XXXXX，XXXXX。XXXXX，XXXXX。` with `chars` ideographs per line.

    Surrounding whitespace (the newline that ends a generated poem) is ignored; anything else is not.

    Example:
        >>> keeps_form("白日依山盡，黃河入海流。欲窮千里目，更上一層樓。\\n"), keeps_form("白日依山盡，黃河入海流。", 5)
        (True, False)
    """
    return bool(_FORMS[chars].fullmatch(text.strip()))


def lines(text: str) -> list[str]:
    """The runs of ideographs of a text, its punctuation dropped: a poem's lines.

    Example:
        >>> lines("白日依山盡，黃河入海流。")
        ['白日依山盡', '黃河入海流']
    """
    return _LINE.findall(text)


def memorised_lines(generated_texts: list[str], training_poems: list[Poem]) -> tuple[int, int]:
    """How many generated lines of 5 or 7 characters appear verbatim as a line of a training poem.

    Args:
        generated_texts: what the model wrote (without its prompt: a prompt's line is not the model's).
        training_poems: the poems it was trained on.

    Returns:
        (copied lines, generated lines of 5 or 7 characters).
    """
    seen = {line for poem in training_poems for line in lines(poem.text)}
    generated = [line for text in generated_texts for line in lines(text) if len(line) in (5, 7)]
    return sum(line in seen for line in generated), len(generated)


def split_poems(poems: list[Poem], validation: float = 0.1, seed: int = 0) -> tuple[list[Poem], list[Poem]]:
    """A seeded split by poem (never by character: a poem's second half would leak its first into validation).

    Example:
        >>> train, val = split_poems([Poem("", "", str(i), "x") for i in range(10)], 0.2)
        >>> len(train), len(val), {p.id for p in train} & {p.id for p in val}
        (8, 2, set())
    """
    order = list(range(len(poems)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(validation * len(poems))) if len(poems) > 1 else 0
    return [poems[i] for i in sorted(order[n_val:])], [poems[i] for i in sorted(order[:n_val])]


def training_text(poems: list[Poem]) -> str:
    """The text a language model reads: one poem per line, each line ended by a newline, no titles.

    Example:
        >>> training_text([Poem("", "", "1", "甲，乙。"), Poem("", "", "2", "丙，丁。")])
        '\\n甲，乙。\\n丙，丁。\\n'
    """
    return "\n" + "".join(p.text + "\n" for p in poems)


def to_simplified(text: str) -> str:
    """Traditional to simplified characters (OpenCC t2s).

    Example:
        >>> to_simplified("風來")
        '风来'
    """
    return _converter("t2s")(text)


def to_traditional(text: str) -> str:
    """Simplified to traditional characters (OpenCC s2t): a reader's prompt, in the corpus's script.

    Example:
        >>> to_traditional("床前明月光")
        '牀前明月光'
    """
    return _converter("s2t")(text)


@lru_cache(maxsize=4)
def _converter(config: str):
    try:
        import opencc
    except ImportError:
        raise ConfigError("Converting between traditional and simplified characters needs OpenCC.",
                          expected="the opencc package", received="it is not installed",
                          fix="pip install opencc, or leave lm.simplified off.") from None
    return opencc.OpenCC(config).convert
