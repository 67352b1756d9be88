"""Build ``data/sample.txt.gz``, the bundled sample corpus, from data shipped in a PyPI package.

Source: the English Wikipedia articles in gensim's test data
(``gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``,
gensim 4.x, LGPL-2.1 package; the article text is Wikipedia's, CC BY-SA 3.0).
Wiki markup is stripped with gensim's own ``filter_wiki``; redirects are dropped; each
paragraph becomes one line of plain text. Run ``python data/make_sample.py`` with gensim installed.
"""

from __future__ import annotations

import bz2
import gzip
import re
from pathlib import Path

import gensim
from gensim.corpora.wikicorpus import extract_pages, filter_wiki

SOURCE = (
    Path(gensim.__file__).parent
    / "test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
)
TARGET = Path(__file__).parent / "sample.txt.gz"


def paragraphs(markup: str) -> list[str]:
    text = filter_wiki(markup).replace("'''", "").replace("''", "")
    lines = (re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text))
    return [line for line in lines if len(line.split()) >= 5]


def main() -> None:
    count = 0
    # mtime=0 keeps the file byte-identical across rebuilds.
    with gzip.GzipFile(TARGET, "wb", mtime=0) as raw, bz2.open(SOURCE) as src:
        for _title, markup, _pageid in extract_pages(src):
            if not markup or markup.lstrip().lower().startswith("#redirect"):
                continue
            for line in paragraphs(markup):
                raw.write((line + "\n").encode("utf-8"))
                count += len(line.split())
    print(f"wrote {TARGET} ({count} whitespace-separated words)")


if __name__ == "__main__":
    main()
