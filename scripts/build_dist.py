"""Build dist/w2v_spark.zip for ``spark-submit --py-files dist/w2v_spark.zip jobs/X.py``.

The zip holds the ``w2v_spark`` package with its data files (``w2v_spark/data/``) and no
``__pycache__``. Executors import the package from it; their Python still needs numpy,
pyarrow, scipy and pandas (see the README, "Running on a cluster"). Stdlib only:

    python scripts/build_dist.py [--out dist/w2v_spark.zip]
"""

from __future__ import annotations

import argparse
import os
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "w2v_spark"
SKIP_DIRS = {"__pycache__"}
SKIP_SUFFIXES = {".pyc", ".pyo"}
# A fixed timestamp: the same sources always give the same bytes.
EPOCH = (1980, 1, 1, 0, 0, 0)


def package_files() -> list[Path]:
    files = []
    for path in PACKAGE.rglob("*"):
        rel = path.relative_to(ROOT)
        if path.is_file() and not SKIP_DIRS & set(rel.parts) and path.suffix not in SKIP_SUFFIXES:
            files.append(rel)
    return sorted(files)


def build(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in package_files():
            info = zipfile.ZipInfo(rel.as_posix(), EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, (ROOT / rel).read_bytes())
    tmp.replace(out)  # never a half-written zip under the final name
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "w2v_spark.zip")
    out = build(parser.parse_args().out.resolve())
    print(out)


if __name__ == "__main__":
    main()
