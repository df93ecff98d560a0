"""Replay the saved model-loader fuzz corpus (firmware/fuzz/corpus/model_loader/) through the
libFuzzer harness: built with gcc and a plain main() under ASan+UBSan (always), and with
clang's libFuzzer and -runs=0 when clang is available. Every file must pass the harness'
checks (clean refusal with a one-line message, or a run inside the reported arena)."""
import shutil
import subprocess
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[3] / "firmware"
CORPUS = FIRMWARE / "fuzz" / "corpus" / "model_loader"


def test_corpus_is_small_and_present():
    files = list(CORPUS.iterdir())
    assert len(files) >= 10
    assert sum(f.stat().st_size for f in files) < 300_000


def test_replay_corpus_gcc_sanitized():
    r = subprocess.run(["make", "-s", "-C", str(FIRMWARE), "fuzz-replay"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert r.stdout.count("ok ") == len(list(CORPUS.iterdir()))


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang not installed")
def test_replay_corpus_libfuzzer():
    r = subprocess.run(["make", "-s", "-C", str(FIRMWARE), "build/fuzz/fuzz_model_loader"], capture_output=True,
                       text=True)
    if r.returncode != 0 and "fuzzer" in r.stderr:
        pytest.skip("clang without libFuzzer runtime (libclang-rt-14-dev)")
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([str(FIRMWARE / "build/fuzz/fuzz_model_loader"), "-runs=0", str(CORPUS)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Done" in r.stderr
