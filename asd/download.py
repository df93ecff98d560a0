"""`python -m asd.download [--data-root data] [--machines ..]`: the official DCASE 2025 T2 data.

Reads each Zenodo record's file list (name, size, md5), downloads what is missing with resume
(HTTP Range on a `.part` file), verifies size and md5, and unpacks into the official layout.
The only command of the project that uses the network.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from asd import cli
from asd.cli import UsageError
from asd.machines import ALL_MACHINES, DEV_MACHINES, EVAL_MACHINES

API = os.environ.get("FIRSTSHOT_ZENODO_API", "https://zenodo.org/api/records")
# record id -> (file name pattern, layout folder it unpacks into)
RECORDS = {
    "15097779": ("dev_{m}.zip", "dev_data/raw", DEV_MACHINES),             # development data
    "15392814": ("eval_data_{m}_train.zip", "eval_data/raw", EVAL_MACHINES),  # additional training
    "15519362": ("eval_data_{m}_test.zip", "eval_data/raw", EVAL_MACHINES),   # evaluation test
}
CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    size: int
    md5: str | None


def _open(url: str, headers: dict | None = None):
    req = urllib.request.Request(url, headers={"User-Agent": "firstshot", **(headers or {})})
    try:
        return urllib.request.urlopen(req, timeout=60)
    except urllib.error.HTTPError as e:
        raise UsageError(f"{url}: HTTP {e.code} {e.reason}; try again later or check the record "
                         f"on zenodo.org") from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise UsageError(f"cannot reach {url} ({reason}). `make download` needs internet access; "
                         f"offline, use the synthetic data (`make data`)") from None


def record_files(record: str) -> dict[str, RemoteFile]:
    with _open(f"{API}/{record}") as r:
        meta = json.load(r)
    files = {}
    for f in meta.get("files", []):
        checksum = f.get("checksum", "")
        md5 = checksum.split(":", 1)[1] if checksum.startswith("md5:") else None
        files[f["key"]] = RemoteFile(f["key"], f["links"]["self"], int(f["size"]), md5)
    return files


def md5_of(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def fetch(remote: RemoteFile, dest: Path) -> Path:
    """Download with resume into dest; verified against the record's size and md5."""
    if dest.exists() and dest.stat().st_size == remote.size and _md5_ok(dest, remote):
        return dest
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if have > remote.size:
        part.unlink()
        have = 0
    if have < remote.size:
        headers = {"Range": f"bytes={have}-"} if have else {}
        with _open(remote.url, headers) as r, open(part, "ab" if have else "wb") as out:
            if have and r.status != 206:  # server ignored Range: start over
                out.truncate(0)
                have = 0
            with tqdm(total=remote.size, initial=have, unit="B", unit_scale=True,
                      desc=remote.name) as bar:
                for block in iter(lambda: r.read(CHUNK), b""):
                    out.write(block)
                    bar.update(len(block))
    if part.stat().st_size != remote.size or not _md5_ok(part, remote):
        bad = part.with_name(part.name + ".corrupt")
        part.replace(bad)
        raise UsageError(f"{remote.name}: size or md5 differs from the Zenodo record (kept as "
                         f"{bad}); run `make download` again")
    part.replace(dest)
    return dest


def _md5_ok(path: Path, remote: RemoteFile) -> bool:
    return remote.md5 is None or md5_of(path) == remote.md5


def unpack(archive: Path, machine: str, target: Path) -> None:
    """Unpack so that files land in target/<machine>/..., whatever prefix the zip uses."""
    try:
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                parts = Path(info.filename).parts
                if info.is_dir() or machine not in parts or ".." in parts:
                    continue
                rel = Path(*parts[parts.index(machine):])
                out = target / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile:
        raise UsageError(f"{archive}: not a valid zip; delete it and run `make download` again") \
            from None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-root", type=Path, default=Path("data"))
    ap.add_argument("--machines", default=",".join(ALL_MACHINES))
    ap.add_argument("--keep-zips", action="store_true", help="keep the archives after unpacking")
    args = ap.parse_args()
    machines = [m for m in args.machines.split(",") if m]
    unknown = [m for m in machines if m not in ALL_MACHINES]
    if unknown:
        raise UsageError(f"unknown machine type(s) {', '.join(unknown)}; known: "
                         f"{', '.join(ALL_MACHINES)}")
    cache = args.data_root / "zips"
    cache.mkdir(parents=True, exist_ok=True)
    for record, (pattern, folder, members) in RECORDS.items():
        wanted = [m for m in machines if m in members]
        if not wanted:
            continue
        listing = record_files(record)
        for m in wanted:
            name = pattern.format(m=m)
            done = args.data_root / folder / m / f".unpacked-{name}"
            if done.exists():
                print(f"{name}: already unpacked")
                continue
            if name not in listing:
                raise UsageError(f"Zenodo record {record} has no {name}; it lists "
                                 f"{', '.join(sorted(listing))}")
            archive = fetch(listing[name], cache / name)
            unpack(archive, m, args.data_root / folder)
            done.write_text(listing[name].md5 or "")
            if not args.keep_zips:
                archive.unlink()
            print(f"{name}: unpacked into {args.data_root / folder / m}")
    print("ground truth for the evaluation types is published with the official evaluator; put its "
          "ground_truth_data/, ground_truth_domain/ and ground_truth_attributes/ folders into "
          f"{args.data_root / 'eval_data'}/ (see docs/data.md)")
    return 0


if __name__ == "__main__":
    cli.run(main)
