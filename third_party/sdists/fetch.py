"""Fetch pinned source distributions from the package registry, check them against the SHA-256
in `third_party/sdists/SHA256SUMS` and unpack only the files the firmware and the tests use into
the build cache (`.cache/sdists/<name>-<version>/`, gitignored). Nothing fetched here is tracked.

    python third_party/sdists/fetch.py cmsisdsp cmsis-svd     (what `make setup` runs)
    python third_party/sdists/fetch.py cmsisdsp --sdist PATH  (a tarball you already have)

SHA256SUMS is the pin: one `<sha256>  <name>-<version>.tar.gz` line per sdist. Once a package is
unpacked, its `.sha256` stamp holds the hash it came from, and later runs do nothing; a changed
pin unpacks again. Exit status 1 with one line on stderr when the download is missing or its hash
is not the pinned one.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SUMS = HERE / "SHA256SUMS"
DEFAULT_CACHE = ROOT / ".cache" / "sdists"

# What is used from each sdist (paths inside its top directory). CMSIS-DSP: the float32 real FFT
# and what it calls, the tables it reads, and the headers those include (found with gcc -MM for
# x86 and for the Cortex-M4 with -D__GNUC_PYTHON__). cmsis-svd: ST's STM32F446 description only.
MEMBERS = {
    "cmsisdsp": [
        "LICENSE",
        "Source/TransformFunctions/arm_rfft_fast_f32.c",
        "Source/TransformFunctions/arm_rfft_fast_init_f32.c",
        "Source/TransformFunctions/arm_cfft_f32.c",
        "Source/TransformFunctions/arm_cfft_radix8_f32.c",
        "Source/TransformFunctions/arm_cfft_init_f32.c",
        "Source/TransformFunctions/arm_bitreversal2.c",
        "Source/CommonTables/arm_common_tables.c",
        "Source/CommonTables/arm_const_structs.c",
        "Include/arm_common_tables.h",
        "Include/arm_const_structs.h",
        "Include/arm_math_memory.h",
        "Include/arm_math_types.h",
        "Include/dsp/basic_math_functions.h",
        "Include/dsp/complex_math_functions.h",
        "Include/dsp/fast_math_functions.h",
        "Include/dsp/none.h",
        "Include/dsp/transform_functions.h",
        "Include/dsp/utils.h",
        "PrivateInclude/arm_compiler_specific.h",
    ],
    "cmsis-svd": [
        "cmsis_svd/data/STMicro/STM32F446x.svd",
    ],
}


class FetchError(Exception):
    """One line for the user: what is wrong, with which file, and what to do."""


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    sha256: str

    @property
    def tarball(self) -> str:
        return f"{self.name}-{self.version}.tar.gz"

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def read_pins(sums: Path = SUMS) -> dict[str, Pin]:
    pins = {}
    for line in sums.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        digest, filename = line.split()
        name, version = filename.removesuffix(".tar.gz").rsplit("-", 1)
        pins[name] = Pin(name, version, digest.lower())
    return pins


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def download(pin: Pin, downloads: Path) -> Path:
    """pip download of the sdist alone. --no-build-isolation: pip prepares an sdist's metadata
    even for a download, and in an isolated environment it would build numpy from source for
    cmsisdsp's setup.py; the venv's own setuptools and numpy do."""
    downloads.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           "--no-build-isolation", "--disable-pip-version-check", "-q", "-d", str(downloads),
           pin.requirement]
    r = subprocess.run(cmd, capture_output=True, text=True)
    path = downloads / pin.tarball
    if r.returncode or not path.exists():
        why = [ln for ln in (r.stderr + r.stdout).splitlines()
               if ln.strip() and not ln.startswith("WARNING: Location")]
        raise FetchError(f"{_rel(path)}: could not download {pin.requirement} from the package "
                         f"registry (pip: {why[-1].strip() if why else 'no file'}); check the "
                         f"network and run `make setup` again, or pass a copy with --sdist PATH")
    return path


def verify(pin: Pin, path: Path) -> None:
    if not path.is_file():
        raise FetchError(f"{_rel(path)}: no such file (the {pin.requirement} sdist); "
                         "run `make setup` to download it")
    got = sha256_of(path)
    if got != pin.sha256:
        raise FetchError(f"{_rel(path)}: SHA-256 {got} is not the pinned {pin.sha256} "
                         f"({_rel(SUMS)}, {pin.requirement}); delete the file and run "
                         "`make setup` to download it again")


def _member(tar: tarfile.TarFile, pin: Pin, rel: str, path: Path) -> tarfile.TarInfo:
    try:
        info = tar.getmember(f"{pin.name}-{pin.version}/{rel}")
    except KeyError:
        raise FetchError(f"{_rel(path)}: has no {rel}, which {_rel(Path(__file__))} "
                         "expects") from None
    if not info.isfile():
        raise FetchError(f"{_rel(path)}: {rel} is not a regular file")
    return info


def unpack(pin: Pin, path: Path, dest: Path) -> None:
    """The members into dest, all at once: they go to a temporary directory beside it that is
    renamed into place, so parallel builds never see half a tree. Files get the current time as
    their mtime (not the archive's), so objects built from an older version are rebuilt."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        with tarfile.open(path) as tar:
            for rel in MEMBERS[pin.name]:
                data = tar.extractfile(_member(tar, pin, rel, path)).read()
                out = tmp / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
        (tmp / ".sha256").write_text(pin.sha256 + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def up_to_date(pin: Pin, dest: Path) -> bool:
    stamp = dest / ".sha256"
    return (stamp.is_file() and stamp.read_text().strip() == pin.sha256
            and all((dest / rel).is_file() for rel in MEMBERS[pin.name]))


def fetch(pin: Pin, cache: Path, sdist: Path | None = None) -> Path:
    dest = cache / f"{pin.name}-{pin.version}"
    if sdist is None and up_to_date(pin, dest):
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # builds started together fetch once, one at a time
        if sdist is None and up_to_date(pin, dest):
            return dest
        return _fetch_locked(pin, cache, dest, sdist)


def _fetch_locked(pin: Pin, cache: Path, dest: Path, sdist: Path | None) -> Path:
    path = sdist
    if path is None:
        path = cache / "downloads" / pin.tarball
        if not path.exists():
            path = download(pin, cache / "downloads")
    verify(pin, path)
    unpack(pin, path, dest)
    print(f"fetch: {pin.requirement} verified, unpacked into {_rel(dest)}")
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="+", choices=sorted(MEMBERS))
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--sdist", type=Path, help="use this tarball instead of downloading")
    a = ap.parse_args(argv)
    if a.sdist and len(a.names) != 1:
        ap.error("--sdist goes with one name")
    pins = read_pins()
    try:
        for name in a.names:
            if name not in pins:
                raise FetchError(f"{_rel(SUMS)}: no pin for {name}")
            fetch(pins[name], a.cache, a.sdist)
    except FetchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
