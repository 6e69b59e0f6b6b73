"""Fetching and unpacking netvlad.zip, on a fixture archive served from localhost."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
import time
import zipfile
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from place_recognition.convert.download import (
    NETVLAD_FILES,
    NETVLAD_LAYERS_PY,
    NETVLAD_NETS_PY,
    NETVLAD_ZIP,
    DownloadError,
    RemoteFile,
    fetch,
    unpack_zip,
    verify_file,
)
from place_recognition.convert.tf_to_ir import convert_netvlad, locate_source

from netvlad_fixture import CHECKPOINT_DIR, TOLERANCE, max_error


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields (root folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_Handler, directory=str(root))
    )
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}", httpd.requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def _zip_fixture(path: Path) -> RemoteFile:
    """netvlad.zip's layout (one folder holding the checkpoint) with the fixture checkpoint."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(CHECKPOINT_DIR.iterdir()):
            zf.write(file, f"{CHECKPOINT_DIR.name}/{file.name}")
    data = path.read_bytes()
    return RemoteFile(
        name="netvlad.zip",
        url="",
        size=len(data),
        sha384=hashlib.sha384(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/netvlad.zip"


def test_real_constants_are_the_omz_model_card_ones():
    # docs/background/netvlad-tf.md (omz_tools 2023.3/2024.6 model.yml; sha256 from the 2021.3 one).
    assert NETVLAD_ZIP.size == 1_108_966_217
    assert NETVLAD_ZIP.sha384 == (
        "2aacb2110402ee5c2c1dd5ccfdade0ca3da8df94d1f5eb5441d929beb031877909a399cb7268fef95fd1a8f251ccbd85"
    )
    assert NETVLAD_ZIP.sha256 == "a6849eb7e2f9236c8ba87b89c1cf6ce97142296ce71683d8fc843f0569c022ea"
    assert NETVLAD_ZIP.url == (
        "https://storage.openvinotoolkit.org/repositories/open_model_zoo/public/2022.1/"
        "netvlad-tf/vd16_pitts30k_conv5_3_vlad_preL2_intra_white.zip"
    )
    assert NETVLAD_ZIP.mirrors == (
        "http://rpg.ifi.uzh.ch/datasets/netvlad/vd16_pitts30k_conv5_3_vlad_preL2_intra_white.zip",
    )
    assert (NETVLAD_LAYERS_PY.size, NETVLAD_NETS_PY.size) == (1492, 2613)
    assert NETVLAD_LAYERS_PY.sha384.startswith(
        "0cc24ff1de4a28c5"
    ) and NETVLAD_LAYERS_PY.sha384.endswith("0ef31ab")
    assert NETVLAD_NETS_PY.sha384.startswith(
        "01d2aade49c07a38"
    ) and NETVLAD_NETS_PY.sha384.endswith("f70e9ef")
    assert (
        NETVLAD_LAYERS_PY.sha256
        == "701fd91892d3ca71316504c088c33c47e7bcd6a091f3157171ed3a0caf1f07b2"
    )
    assert (
        NETVLAD_NETS_PY.sha256 == "c3baa73bd57ac2e83cd24ab8332af93dd66a7b7b950ad6435222c5f4e3b937b4"
    )
    assert all(len(f.sha384) == 96 and len(f.sha256) == 64 for f in NETVLAD_FILES)


def test_fetch_verifies_and_keeps_a_verified_copy(server, tmp_path):
    root, base, requests = server
    remote = replace(_zip_fixture(root / "netvlad.zip"), url=f"{base}/netvlad.zip")
    target = fetch(remote, tmp_path / "dl")
    assert target == tmp_path / "dl" / "netvlad.zip"
    assert target.read_bytes() == (root / "netvlad.zip").read_bytes()
    assert fetch(remote, tmp_path / "dl") == target
    assert requests == ["/netvlad.zip"]  # the second call verified the local copy instead
    assert [p.name for p in target.parent.iterdir()] == ["netvlad.zip"]  # no temporary left


def test_fetch_falls_back_to_a_mirror(server, tmp_path):
    root, base, requests = server
    remote = _zip_fixture(root / "netvlad.zip")
    remote = replace(remote, url=f"{base}/missing.zip", mirrors=(f"{base}/netvlad.zip",))
    assert fetch(remote, tmp_path).is_file()
    assert requests == ["/missing.zip", "/netvlad.zip"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"size": 123}, r"has [\d,]+ bytes, expected 123"),
        ({"sha384": "0" * 96}, r"sha384 is [0-9a-f]{96}, expected 0{96}"),
        ({"sha384": None, "sha256": "f" * 64}, r"sha256 is [0-9a-f]{64}, expected f{64}"),
    ],
)
def test_a_download_that_does_not_match_is_not_kept(server, tmp_path, change, message):
    root, base, _ = server
    remote = replace(_zip_fixture(root / "netvlad.zip"), url=f"{base}/netvlad.zip", **change)
    with pytest.raises(DownloadError, match=message + r".*nothing was saved"):
        fetch(remote, tmp_path / "dl")
    assert list((tmp_path / "dl").iterdir()) == []


def test_a_damaged_local_copy_is_reported_with_the_fix(tmp_path):
    remote = _zip_fixture(tmp_path / "netvlad.zip")
    with open(tmp_path / "netvlad.zip", "r+b") as f:
        f.seek(100)
        f.write(b"X")
    with pytest.raises(DownloadError, match=r"netvlad\.zip sha384 is .* delete it and download"):
        verify_file(tmp_path / "netvlad.zip", remote)


def test_unreachable_server_fails_fast_with_what_to_do(tmp_path):
    remote = replace(NETVLAD_ZIP, url=_closed_port_url(), mirrors=())
    start = time.monotonic()
    with pytest.raises(DownloadError) as error:
        fetch(remote, tmp_path, timeout=5)
    assert time.monotonic() - start < 5
    message = str(error.value)
    assert "by hand" in message and str(tmp_path / "netvlad.zip") in message
    assert NETVLAD_ZIP.sha384 in message and "1,108,966,217 bytes" in message


def test_zip_is_verified_unpacked_and_converted(tmp_path):
    dl = tmp_path / "public" / "netvlad-tf"
    dl.mkdir(parents=True)
    remote = _zip_fixture(dl / "netvlad.zip")
    source = locate_source(dl / "netvlad.zip", expected_zip=remote)
    assert source.kind == "meta"
    assert source.path.parent == dl / CHECKPOINT_DIR.name  # beside the zip, as omz_downloader
    assert max_error(convert_netvlad(source)) < TOLERANCE
    assert sorted(p.name for p in dl.iterdir()) == ["netvlad.zip", CHECKPOINT_DIR.name]


def test_zip_with_wrong_checksum_is_refused_before_unpacking(tmp_path):
    remote = _zip_fixture(tmp_path / "netvlad.zip")
    with pytest.raises(DownloadError, match="sha384"):
        locate_source(tmp_path / "netvlad.zip", expected_zip=replace(remote, sha384="1" * 96))
    with pytest.raises(DownloadError, match="expected 1,108,966,217"):
        locate_source(tmp_path / "netvlad.zip")  # the real card's size, by default
    assert [p.name for p in tmp_path.iterdir()] == ["netvlad.zip"]


def test_unpack_refuses_members_outside_the_folder(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok/file.txt", "fine")
        zf.writestr("../escape.txt", "bad")
    with pytest.raises(DownloadError, match=r"unsafe path"):
        unpack_zip(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_unpack_replaces_an_older_folder_whole(tmp_path):
    remote = _zip_fixture(tmp_path / "netvlad.zip")
    stale = tmp_path / "out" / CHECKPOINT_DIR.name / "stale.txt"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    assert remote.size > 0
    assert unpack_zip(tmp_path / "netvlad.zip", tmp_path / "out") == [stale.parent]
    assert not stale.exists()
    assert sorted(p.name for p in stale.parent.iterdir()) == sorted(
        p.name for p in CHECKPOINT_DIR.iterdir()
    )


def test_not_a_zip(tmp_path):
    (tmp_path / "netvlad.zip").write_bytes(b"no zip")
    with pytest.raises(DownloadError, match="not a valid zip"):
        unpack_zip(tmp_path / "netvlad.zip", tmp_path / "out")
