"""The Open Model Zoo route: omz_downloader + omz_converter from their own virtual environment.

openvino-dev 2024.6.0 (the last release) pins openvino 2024.6 and numpy<2, which cannot share
the runtime environment (docs/background/accuracy-checker.md), so the tools live in a
separate venv created once.
Its TensorFlow extra (~2.2 GB, only needed by omz_converter's freezing step) is installed only
when the conversion is asked for. Without network, the download step stops within seconds with
one message saying which files to fetch by hand and where they go; hand-fetched files are
verified and put into omz_downloader's cache, from which it then takes them offline.
"""

from __future__ import annotations

import logging
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ..core.files import atomic_write_with
from ..errors import Remedy
from .download import (
    NETVLAD_FILES,
    NETVLAD_ZIP,
    RemoteFile,
    verify_file,
)
from .tf_to_ir import MODEL_NAME, omz_ir_path
from .tool_envs import ToolEnv as OmzTools
from .tool_envs import ToolEnvError as OmzError

logger = logging.getLogger(__name__)

_CACHE_FORMAT = "1"  # omz_tools DirCache: <cache>/1/<sha384[:2]>/<sha384[2:]>


def cache_path(cache_dir: Path, remote: RemoteFile) -> Path:
    """Where omz_downloader's cache keeps ``remote`` (keyed by its sha384)."""
    digest = remote.sha384.lower()
    return Path(cache_dir) / _CACHE_FORMAT / digest[:2] / digest[2:]


def seed_cache(files_dir: Path, cache_dir: Path, remotes=NETVLAD_FILES) -> list[Path]:
    """Verify hand-downloaded files in ``files_dir`` and put them into the OMZ cache.

    Files are looked up by their base name (netvlad.zip, layers.py, nets.py); ones not there are
    skipped, ones that do not match their size and digests raise an error naming them.
    """
    seeded = []
    for remote in remotes:
        source = Path(files_dir) / Path(remote.name).name
        if not source.is_file():
            continue
        verify_file(source, remote)
        target = cache_path(cache_dir, remote)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_with(target, lambda tmp, source=source: shutil.copyfile(source, tmp))
        seeded.append(target)
    return seeded


def unreachable(url: str, timeout: float) -> str | None:
    """Why ``url`` cannot be reached (DNS, refused, timeout, HTTP error), or None if it can."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return None
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        return str(exc.reason)
    except OSError as exc:
        return str(exc)


def offline_message(reason: str, url: str, download_dir: Path, remotes=NETVLAD_FILES) -> str:
    """The one line that tells what to fetch by hand, where it goes, and the TF-free way."""
    folder = Path(download_dir) / "public" / MODEL_NAME
    small = " and ".join(f"{Path(r.name).name} ({r.url})" for r in remotes if r is not NETVLAD_ZIP)
    return (
        f"cannot reach {urllib.parse.urlsplit(url).netloc} ({reason}). Download by hand "
        f"{NETVLAD_ZIP.describe()} and save it as {folder / 'netvlad.zip'}; then either convert "
        f"that checkpoint without TensorFlow (convert.tf_to_ir), or also save {small} in "
        f"{folder} and take the files from that folder"
    )


def download(
    tools: OmzTools,
    requirements: list[Path],
    download_dir: Path,
    cache_dir: Path,
    log: Path,
    remotes=NETVLAD_FILES,
    timeout: float = 5.0,
) -> Path:
    """omz_downloader --name netvlad-tf; returns ``download_dir/public/netvlad-tf``.

    Unless every file is already in the cache, the first file's server is probed first, so that
    no network means one clear :class:`OmzError` within seconds rather than a traceback.
    """
    if not all(cache_path(cache_dir, r).is_file() for r in remotes):
        url = remotes[0].url
        reason = unreachable(url, timeout)
        if reason:
            message = offline_message(reason, url, download_dir, remotes)
            raise OmzError(message, remedy=Remedy.CHECKPOINT_FILES)
    tools.ensure(requirements, log)
    args = ["--name", MODEL_NAME, "-o", str(download_dir), "--cache_dir", str(cache_dir)]
    if tools.run("omz_downloader", args, log) != 0:
        reason = f"omz_downloader failed, see {log}"
        message = offline_message(reason, remotes[0].url, download_dir, remotes)
        raise OmzError(message, remedy=Remedy.CHECKPOINT_FILES)
    return Path(download_dir) / "public" / MODEL_NAME


def convert(
    tools: OmzTools,
    requirements: list[Path],
    download_dir: Path,
    output_dir: Path,
    precisions: tuple[str, ...],
    log: Path,
) -> dict[str, Path]:
    """omz_converter --name netvlad-tf (needs the TensorFlow extra); the IR per precision."""
    checkpoint_dir = Path(download_dir) / "public" / MODEL_NAME
    if not any(checkpoint_dir.glob("*/*.index")):
        raise OmzError(f"no downloaded checkpoint under {checkpoint_dir}: run the download step")
    tools.ensure(requirements, log)
    args = ["--name", MODEL_NAME, "-d", str(download_dir), "-o", str(output_dir)]
    args += ["--precisions", ",".join(precisions)]
    # omz_converter's pre-convert step builds the graph with tf.layers, gone from Keras 3.
    if tools.run("omz_converter", args, log, {"TF_USE_LEGACY_KERAS": "1"}) != 0:
        raise OmzError(f"omz_converter failed; see {log}")
    irs = {p: omz_ir_path(output_dir, p) for p in precisions}
    missing = [str(path) for path in irs.values() if not path.is_file()]
    if missing:
        raise OmzError(f"omz_converter did not write {', '.join(missing)}; see {log}")
    return irs
