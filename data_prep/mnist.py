"""MNIST and Fashion-MNIST: fetch the four official IDX files of each and verify their md5.

    python -m data_prep.mnist --dataset mnist --out data/mnist [--source DIR]
    python -m data_prep.mnist --dataset fashion --out data/fashion [--source DIR]

With ``--source`` the files are taken from a local folder; otherwise they are downloaded from the
official mirrors. Each file is verified before it is written (atomically) into ``--out`` and then
parsed once, so a truncated or corrupt gzip is reported by name and never left behind.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

from .files import DataPrepError, copy_verified, download, verify_checksum

log = logging.getLogger(__name__)

FILES = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
    "fashion": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}
COUNTS = {"train": 60000, "t10k": 10000}


def read_idx(path: str | Path) -> np.ndarray:
    """Parse a gzipped IDX file (images ``[N, 28, 28]`` or labels ``[N]``, uint8)."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise DataPrepError(f"{path}: not a complete gzip file ({error}); delete it and fetch it again.") from error
    if len(raw) < 8:
        raise DataPrepError(f"{path}: IDX header is missing (file too short)")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
        raise DataPrepError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataPrepError(f"{path}: header announces {dims} but the file holds {body.size} values (truncated?)")
    return body.reshape(dims)


def prepare(dataset: str, out: str | Path, source: str | Path | None = None) -> Path:
    """Put the verified official files of ``dataset`` into ``out``; return ``out``."""
    if dataset not in FILES:
        raise DataPrepError(f"--dataset must be one of {sorted(FILES)}, got {dataset!r}")
    out = Path(out)
    for name, md5 in FILES[dataset].items():
        dest = out / name
        if dest.exists():
            try:
                verify_checksum(dest, md5)
                continue
            except DataPrepError:
                log.warning("%s: checksum mismatch, fetching it again", dest)
        if source is not None:
            copy_verified(Path(source) / name, dest, md5)
        else:
            errors = []
            for mirror in MIRRORS[dataset]:
                try:
                    download(mirror + name, dest, md5)
                    break
                except DataPrepError as error:
                    errors.append(str(error))
            else:
                raise DataPrepError(f"{name}: no mirror worked ({'; '.join(errors)}). Pass --source DIR holding the official files.")
        split = name.split("-")[0]
        array = read_idx(dest)
        if len(array) != COUNTS[split]:
            dest.unlink()
            raise DataPrepError(f"{name}: expected {COUNTS[split]} records, found {len(array)}")
        log.info("%s: ok (%s)", dest, array.shape)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(FILES), default="mnist")
    parser.add_argument("--out", default=None, help="output folder (default: data/<dataset>)")
    parser.add_argument("--source", default=None, help="local folder holding the four official .gz files")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        out = prepare(args.dataset, args.out or f"data/{args.dataset}", args.source)
    except DataPrepError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.dataset}: verified files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
