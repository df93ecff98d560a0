"""third_party/sdists/fetch.py: the pinned sdists are verified against SHA256SUMS before anything
is unpacked, a missing or tampered download is one clear line (file, expected hash, fix), and the
firmware build stops on it before compiling. Nothing of CMSIS-DSP is tracked in git."""
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FETCH = ROOT / "third_party" / "sdists" / "fetch.py"
CACHE = ROOT / ".cache" / "sdists"

sys.path.insert(0, str(FETCH.parent))
import fetch  # noqa: E402

PIN = fetch.read_pins()["cmsisdsp"]


def run_fetch(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(FETCH), *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=600)


@pytest.fixture(scope="module")
def real_sdist() -> Path:
    """The registry's tarball, as `make setup` left it in the cache (downloaded if missing)."""
    path = CACHE / "downloads" / PIN.tarball
    if not path.exists():
        r = run_fetch("cmsisdsp")
        assert r.returncode == 0, r.stderr
    assert fetch.sha256_of(path) == PIN.sha256
    return path


def fake_sdist(path: Path) -> Path:
    """A tarball with the right name and every member, but not the registry's bytes."""
    with tarfile.open(path, "w:gz") as tar:
        for rel in fetch.MEMBERS["cmsisdsp"]:
            data = b"/* not CMSIS-DSP */\n"
            info = tarfile.TarInfo(f"{PIN.name}-{PIN.version}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def assert_one_line_error(r: subprocess.CompletedProcess, *needles: str) -> str:
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def test_tampered_download_is_refused_and_nothing_unpacked(tmp_path):
    bad = fake_sdist(tmp_path / PIN.tarball)
    r = run_fetch("cmsisdsp", "--cache", str(tmp_path / "cache"), "--sdist", str(bad))
    assert_one_line_error(r, str(bad), PIN.sha256, fetch.sha256_of(bad), "SHA256SUMS",
                          "delete the file", "make setup")
    assert not (tmp_path / "cache" / f"{PIN.name}-{PIN.version}").exists()


def test_one_changed_byte_in_the_real_tarball_is_refused(tmp_path, real_sdist):
    data = bytearray(real_sdist.read_bytes())
    data[len(data) // 2] ^= 1
    bad = tmp_path / PIN.tarball
    bad.write_bytes(bytes(data))
    r = run_fetch("cmsisdsp", "--cache", str(tmp_path / "cache"), "--sdist", str(bad))
    assert_one_line_error(r, PIN.sha256)


def test_tampered_tarball_in_the_cache_is_refused(tmp_path):
    """What `make setup` meets when the cached download was altered: the same line."""
    cache = tmp_path / "cache"
    (cache / "downloads").mkdir(parents=True)
    fake_sdist(cache / "downloads" / PIN.tarball)
    r = run_fetch("cmsisdsp", "--cache", str(cache))
    assert_one_line_error(r, str(cache / "downloads" / PIN.tarball), PIN.sha256, "make setup")


def test_missing_file(tmp_path):
    r = run_fetch("cmsisdsp", "--cache", str(tmp_path / "cache"), "--sdist",
                  str(tmp_path / "nowhere.tar.gz"))
    assert_one_line_error(r, "nowhere.tar.gz", "no such file", "make setup")


def test_download_that_fails_names_the_package_and_the_fix(tmp_path):
    empty = tmp_path / "no-index"
    empty.mkdir()
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(empty))
    r = run_fetch("cmsisdsp", "--cache", str(tmp_path / "cache"), env=env)
    assert_one_line_error(r, PIN.requirement, "could not download", "make setup")


def test_the_registry_tarball_unpacks_only_the_listed_files(tmp_path, real_sdist):
    cache = tmp_path / "cache"
    r = run_fetch("cmsisdsp", "--cache", str(cache), "--sdist", str(real_sdist))
    assert r.returncode == 0, r.stderr
    dest = cache / f"{PIN.name}-{PIN.version}"
    got = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert got == sorted(fetch.MEMBERS["cmsisdsp"] + [".sha256"])
    assert (dest / ".sha256").read_text().strip() == PIN.sha256
    assert "arm_rfft_fast_f32" in (dest / "Source/TransformFunctions/arm_rfft_fast_f32.c").read_text()
    # Up to date now: a second run neither downloads nor unpacks.
    again = run_fetch("cmsisdsp", "--cache", str(cache))
    assert again.returncode == 0 and again.stdout == "" and again.stderr == ""


def test_fetches_started_together_all_succeed(tmp_path, real_sdist):
    """Parallel builds may all find the tree missing: they fetch one at a time (a lock), and
    none sees half a tree."""
    cache = tmp_path / "cache"
    procs = [subprocess.Popen([sys.executable, str(FETCH), "cmsisdsp", "--cache", str(cache),
                               "--sdist", str(real_sdist)], stderr=subprocess.PIPE, text=True)
             for _ in range(12)]   # 12: without the lock some of them fail (rmtree races)
    assert [p.wait(timeout=300) for p in procs] == [0] * 12, [p.stderr.read() for p in procs]
    assert fetch.up_to_date(PIN, cache / f"{PIN.name}-{PIN.version}")
    assert not [p for p in cache.iterdir() if p.name.startswith(".cmsisdsp")]   # no temp dirs


def test_firmware_build_stops_before_compiling_when_the_fetch_fails(tmp_path):
    """A stamp that is not the pin makes dsp.mk run fetch.py; when that fails the build stops
    with make's one line, and no compiler runs."""
    r = subprocess.run(["make", "-C", str(ROOT / "firmware"), "-f", "dsp/dsp.mk", "logmel-tool",
                        f"BUILD={tmp_path}/build", f"CMSIS_DSP_STAMP={tmp_path}/none", "PYTHON=false"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "CMSIS-DSP is not in" in r.stderr and "run `make setup`" in r.stderr, r.stderr
    assert "gcc" not in r.stdout and not (tmp_path / "build").exists()


def test_no_cmsis_source_is_tracked():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    names = {Path(m).name for m in fetch.MEMBERS["cmsisdsp"] if m != "LICENSE"}
    assert [f for f in files if Path(f).name.startswith("arm_") or Path(f).name in names] == []
    assert "firmware/dsp/rfft.c" not in files and not (ROOT / "firmware/dsp/rfft.c").exists()
    assert "arm_rfft_fast_f32(" in (ROOT / "firmware/dsp/logmel.c").read_text()   # CMSIS-DSP's
