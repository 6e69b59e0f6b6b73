"""The Open Model Zoo route's own logic: offline failure, hand-fetched files, requirements.

Creating the tools environment and running omz_info_dumper happen in .ci/run, not here.
"""

from __future__ import annotations

import hashlib
import socket
import time
from dataclasses import replace

import pytest

from place_recognition.cli import omz_netvlad
from place_recognition.cli._run import remedy_hint
from place_recognition.cli.omz_netvlad import REQUIREMENTS, REQUIREMENTS_TF
from place_recognition.convert import omz_tools as omz
from place_recognition.convert.download import (
    NETVLAD_FILES,
    NETVLAD_ZIP,
    DownloadError,
    RemoteFile,
)
from place_recognition.errors import Remedy


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unreachable_files() -> tuple[RemoteFile, ...]:
    base = f"http://127.0.0.1:{_closed_port()}"
    return tuple(replace(r, url=f"{base}/{r.name}", mirrors=()) for r in NETVLAD_FILES)


def _small_remote(path, name: str, data: bytes) -> RemoteFile:
    path.write_bytes(data)
    return RemoteFile(name, "", len(data), hashlib.sha384(data).hexdigest())


def test_offline_download_fails_fast_with_one_message(tmp_path):
    tools = omz.OmzTools(tmp_path / "env")
    start = time.monotonic()
    with pytest.raises(omz.OmzError) as error:
        omz.download(
            tools,
            REQUIREMENTS,
            tmp_path / "dl",
            tmp_path / "cache",
            tmp_path / "log",
            remotes=_unreachable_files(),
        )
    assert time.monotonic() - start < 5
    message = str(error.value)
    assert "\n" not in message and "cannot reach 127.0.0.1" in message
    # What to fetch (URL, size, digest), where it goes, and the two ways on.
    assert NETVLAD_ZIP.url in message and NETVLAD_ZIP.sha384 in message
    assert str(tmp_path / "dl" / "public" / "netvlad-tf" / "netvlad.zip") in message
    # The library says it in its own terms; the CLI names the command and the option.
    assert "convert.tf_to_ir" in message and "take the files from that folder" in message
    assert "--files" not in message and "convert_netvlad" not in message
    assert error.value.remedy is Remedy.CHECKPOINT_FILES
    assert "--files FOLDER" in remedy_hint(error.value.remedy, omz_netvlad.build_parser())
    assert not (tmp_path / "env").exists()  # nothing installed before the network is known


def test_hand_fetched_files_go_where_omz_downloader_looks(tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    remotes = (
        _small_remote(files / "netvlad.zip", "netvlad.zip", b"zip bytes"),
        _small_remote(files / "nets.py", "netvlad_tf/nets.py", b"print('nets')\n"),
    )
    seeded = omz.seed_cache(files, tmp_path / "cache", remotes)
    digest = remotes[1].sha384
    # omz_tools DirCache layout, format 1: <cache>/1/<sha384[:2]>/<sha384[2:]>
    assert seeded[1] == tmp_path / "cache" / "1" / digest[:2] / digest[2:]
    assert seeded[1].read_bytes() == b"print('nets')\n"
    assert [omz.cache_path(tmp_path / "cache", r) for r in remotes] == seeded


def test_a_wrong_hand_fetched_file_is_refused(tmp_path):
    remote = _small_remote(tmp_path / "netvlad.zip", "netvlad.zip", b"right")
    (tmp_path / "netvlad.zip").write_bytes(b"wrong")
    with pytest.raises(DownloadError, match=r"netvlad\.zip sha384 is"):
        omz.seed_cache(tmp_path, tmp_path / "cache", (remote,))
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*"))


def test_convert_needs_the_download_first(tmp_path):
    tools = omz.OmzTools(tmp_path / "env")
    with pytest.raises(omz.OmzError, match="run the download step"):
        omz.convert(tools, REQUIREMENTS_TF, tmp_path, tmp_path, ("FP32",), tmp_path / "log")
    assert not (tmp_path / "env").exists()


def test_tools_are_not_run_before_setup(tmp_path):
    with pytest.raises(omz.OmzError, match="run the setup step first"):
        omz.OmzTools(tmp_path / "env").run("omz_downloader", [], tmp_path / "log")


def test_tensorflow_is_only_in_the_conversion_requirements():
    base = REQUIREMENTS[0].read_text()
    assert "openvino-dev==2024.6.0" in base
    requirement_lines = [line for line in base.splitlines() if not line.startswith("#")]
    assert not any("tensorflow" in line for line in requirement_lines)
    extra = REQUIREMENTS_TF[-1].read_text()
    assert "openvino-dev[tensorflow2]==2024.6.0" in extra and "tf-keras==2.17.0" in extra
