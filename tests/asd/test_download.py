"""make download against a local stand-in for Zenodo: resume, verification, unpacking, offline."""
import hashlib
import http.server
import io
import json
import os
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _zip_bytes(machine: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{machine}/train/section_00_source_train_normal_0000_noAttribute.wav", b"x" * 5000)
        z.writestr(f"{machine}/attributes_00.csv", "file_name,d1p,d1v\n")
    return buf.getvalue()


class _Zenodo(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    md5_override: dict = {}
    ranges_seen: list = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 1:  # record listing
            listing = [{"key": k, "size": len(v),
                        "checksum": "md5:" + self.md5_override.get(k, hashlib.md5(v).hexdigest()),
                        "links": {"self": f"http://{self.headers['Host']}/{parts[0]}/{k}"}}
                       for k, v in self.files.items()]
            body = json.dumps({"files": listing}).encode()
            self.send_response(200)
        else:
            data = self.files[parts[1]]
            rng = self.headers.get("Range")
            if rng:
                self.ranges_seen.append(rng)
                start = int(rng.split("=")[1].rstrip("-"))
                body = data[start:]
                self.send_response(206)
            else:
                body = data
                self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def zenodo():
    _Zenodo.files = {"dev_fan.zip": _zip_bytes("fan")}
    _Zenodo.md5_override = {}
    _Zenodo.ranges_seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Zenodo)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def _run(api: str, root: Path):
    env = {**os.environ, "FIRSTSHOT_ZENODO_API": api}
    return subprocess.run([sys.executable, "-m", "asd.download", "--data-root", str(root),
                           "--machines", "fan"], cwd=ROOT, env=env, capture_output=True, text=True)


def test_download_resumes_verifies_and_unpacks(zenodo, tmp_path):
    zips = tmp_path / "zips"
    zips.mkdir()
    full = _Zenodo.files["dev_fan.zip"]
    (zips / "dev_fan.zip.part").write_bytes(full[:1000])  # an interrupted earlier download
    r = _run(zenodo, tmp_path)
    assert r.returncode == 0, r.stderr
    assert _Zenodo.ranges_seen == ["bytes=1000-"]
    wav = tmp_path / "dev_data/raw/fan/train/section_00_source_train_normal_0000_noAttribute.wav"
    assert wav.read_bytes() == b"x" * 5000
    assert not (zips / "dev_fan.zip").exists()  # archive removed after unpacking
    again = _run(zenodo, tmp_path)  # idempotent: nothing fetched again
    assert again.returncode == 0 and "already unpacked" in again.stdout


def test_checksum_mismatch_is_refused(zenodo, tmp_path):
    _Zenodo.md5_override = {"dev_fan.zip": "0" * 32}
    r = _run(zenodo, tmp_path)
    assert r.returncode == 2
    assert "dev_fan.zip: size or md5 differs from the Zenodo record" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "dev_data/raw/fan").exists()


def test_offline_is_a_clear_error(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = _run(f"http://127.0.0.1:{port}", tmp_path)
    assert r.returncode == 2
    assert "needs internet access" in r.stderr and "make data" in r.stderr
    assert "Traceback" not in r.stderr
