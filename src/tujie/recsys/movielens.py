"""MovieLens 100K (GroupLens, Harper & Konstan 2015): 100,000 ratings of 1,682 movies by 943 users.

The files are GroupLens's own, unmodified: `u.data` (`user<TAB>item<TAB>rating<TAB>unix_time`),
`u.item` (titles; Latin-1, not UTF-8), and the five-fold splits `u1.base`/`u1.test` ...
`u5.base`/`u5.test`. Each file is found through `tujie.data._files.resolve` (`TUJIE_DATA`,
then the cache) and checked against its SHA-256 before it is read. For users who are online,
the files download one by one from GroupLens's per-file folder
(`https://files.grouplens.org/datasets/movielens/ml-100k/<file>`); the pinned digests are those
of that folder's files (the same values `ankane/disco` pins). GroupLens also serves the whole set
as `ml-100k.zip`, whose published md5 could not be checked against a copy, so the zip is not used.

Ids in the files start at 1; here they start at 0 (user 1 is row 0), as an embedding wants.
The data's terms allow research use only and forbid redistribution: see the README in the set.

Example:
    >>> ratings = parse_ratings("1\\t31\\t4\\t880000000\\n2\\t5\\t3\\t880000001\\n", "u.data")
    >>> ratings.users.tolist(), ratings.items.tolist(), ratings.ratings.tolist()
    ([0, 1], [30, 4], [4.0, 3.0])
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError

DATASET = "movielens-100k"
URL = "https://files.grouplens.org/datasets/movielens/ml-100k/"  # one file at a time; ml-100k.zip holds the same files
ZIP_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
NUM_USERS, NUM_ITEMS = 943, 1682
SHA256 = {
    "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
    "u1.base": "ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a",
    "u1.test": "18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950",
    "u2.base": "6c06f0b5df4b256da1a994f3ac66edc8da4d3f09bc9282df6b14d893366d703e",
    "u2.test": "4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3",
    "u3.base": "afdc155c291c6edc41c0407e39d7462eb98d341e064f0b0a12175b80b3c4af5d",
    "u3.test": "0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d",
    "u4.base": "219f0f4d40dfe9c5141d425f53fa91ee23ed275f14e280bbf1b50117afb064ca",
    "u4.test": "7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9",
    "u5.base": "a9574e59ce961eec2121627760b6e9b0974ce1637b3fe69ac32cb14a4bfab485",
    "u5.test": "351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634",
}


@dataclass
class Ratings:
    """Explicit ratings as parallel arrays, ids from 0.

    Attributes:
        users, items: int64 (n,), ids from 0.
        ratings: float32 (n,), 1 to 5.
        timestamps: int64 (n,), unix seconds.
        num_users, num_items: the id ranges (943 and 1,682 for MovieLens 100K).
    """

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray
    num_users: int = NUM_USERS
    num_items: int = NUM_ITEMS

    def __len__(self) -> int:
        return len(self.users)


def path(filename: str, data_dir=None) -> Path:
    """The verified local path of one MovieLens 100K file (downloaded into the cache when online and missing)."""
    from ..data._files import resolve

    if filename not in SHA256:
        raise DataError(f"MovieLens 100K has no file `{filename}` that tujie reads.", expected=f"one of {', '.join(SHA256)}",
                        received=f"filename={filename!r}", fix="Use u.data, or a split such as u1.base / u1.test.")
    return resolve(DATASET, filename, sha256=SHA256[filename], urls=(URL + filename,), data_dir=data_dir)


def parse_ratings(text: str, filename: str, num_users: int = NUM_USERS, num_items: int = NUM_ITEMS) -> Ratings:
    """Parse `user<TAB>item<TAB>rating<TAB>time` lines (ids from 1) into `Ratings` (ids from 0).

    A line that is not four integers, or an id outside 1..num_users / 1..num_items, is an error
    naming the file and the line: an out-of-range id would otherwise fail deep in an embedding.

    Example:
        >>> parse_ratings("944\\t1\\t5\\t0\\n", "my.data")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tujie.errors.DataError: my.data line 1: user id 944 is outside 1..943...
    """
    try:  # the fast path: 100,000 lines in milliseconds; any doubt falls back to the line-by-line check below
        with warnings.catch_warnings():  # a bad token ends the parse early with a warning: the count check below catches it
            warnings.simplefilter("ignore")
            table = np.fromstring(text, dtype=np.int64, sep=" ").reshape(-1, 4)  # (n, 4); tabs and newlines are whitespace
        good = (len(table) and len(table) == sum(1 for line in text.splitlines() if line.strip())
                and table[:, 0].min() >= 1 and table[:, 0].max() <= num_users and table[:, 1].min() >= 1 and table[:, 1].max() <= num_items)
    except ValueError:
        good = False
    if good:
        return Ratings(table[:, 0] - 1, table[:, 1] - 1, table[:, 2].astype(np.float32), table[:, 3], num_users, num_items)
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            user, item, rating, stamp = (int(f) for f in fields)
        except ValueError:
            raise DataError(f"{filename} line {number} is not a MovieLens rating.", expected="user<TAB>item<TAB>rating<TAB>unix_time, four integers",
                            received=repr(line[:80]), fix=f"Check that {filename} is GroupLens's file, unmodified.") from None
        for what, value, count in (("user", user, num_users), ("item", item, num_items)):
            if not 1 <= value <= count:
                raise DataError(f"{filename} line {number}: {what} id {value} is outside 1..{count}.",
                                expected=f"{what} ids from 1 to {count} (MovieLens 100K)", received=repr(line[:80]),
                                fix=f"Use GroupLens's MovieLens 100K files, or pass num_{what}s= for another set.")
        rows.append((user - 1, item - 1, rating, stamp))
    if not rows:
        raise DataError(f"{filename} holds no ratings.", expected="user<TAB>item<TAB>rating<TAB>unix_time lines",
                        received="an empty file", fix=f"Restore {filename} from GroupLens.")
    table = np.array(rows, dtype=np.int64)  # (n, 4)
    return Ratings(table[:, 0], table[:, 1], table[:, 2].astype(np.float32), table[:, 3], num_users, num_items)


def load_ratings(filename: str = "u.data", data_dir=None) -> Ratings:
    """All of MovieLens 100K's ratings (`u.data`), or one split file (`u1.base`, `u1.test` ...).

    Example:
        >>> load_ratings("u.data").users.shape  # doctest: +SKIP
        (100000,)
    """
    file = path(filename, data_dir)
    return parse_ratings(file.read_text(encoding="ascii", errors="replace"), file.name)


def load_titles(data_dir=None) -> list[str]:
    """The 1,682 movie titles of `u.item` (Latin-1), index = item id from 0.

    Example:
        >>> load_titles()[0]  # doctest: +SKIP
        'Toy Story (1995)'
    """
    file = path("u.item", data_dir)
    titles = [""] * NUM_ITEMS
    for line in file.read_text(encoding="latin-1").splitlines():
        fields = line.split("|")
        if len(fields) >= 2 and fields[0].isdigit() and 1 <= int(fields[0]) <= NUM_ITEMS:
            titles[int(fields[0]) - 1] = fields[1]
    return titles
