"""Running Open Model Zoo's ``accuracy_check`` from its own environment, as a subprocess."""

from __future__ import annotations

import csv
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..convert.tool_envs import ToolEnv
from ..core.home import data_home, scripts_file
from ..errors import PlaceRecognitionError

CONFIG = scripts_file("accuracy_check/netvlad-tf.yml")
DEFINITIONS = scripts_file("accuracy_check/dataset_definitions.yml")
DEVICE_F32 = scripts_file("accuracy_check/device_f32.yml")
REQUIREMENTS = scripts_file("requirements-accuracy-check.txt")
DEFAULT_ENV = data_home() / ".venv-ac"


def setup_accuracy_checker(env_dir: Path = DEFAULT_ENV) -> Path:
    """Create (once) the Accuracy Checker environment; return the ``accuracy_check`` path.

    pip's output goes to ``<env>.install.log`` beside the environment.
    """
    tools = ToolEnv(Path(env_dir))
    tools.ensure([REQUIREMENTS], Path(f"{env_dir}.install.log"))
    return tools.tool("accuracy_check")


@dataclass(frozen=True)
class AccuracyCheckResult:
    """The metric row ``accuracy_check --csv_result`` wrote, and the command that ran."""

    metric: str
    value: float  # a fraction, e.g. 0.820321
    reference: float | None
    dataset_size: int
    command: list[str]


def model_folder(model: Path, scratch: Path) -> Path:
    """``accuracy_check -m`` wants a folder with exactly one IR: give it one for an .xml file."""
    model = Path(model)
    if model.is_dir():
        if len(list(model.glob("*.xml"))) != 1:
            raise PlaceRecognitionError(
                f"{model} must hold exactly one .xml IR for accuracy_check (it globs *.xml)"
            )
        return model
    if model.suffix.lower() != ".xml" or not model.is_file():
        raise FileNotFoundError(f"model IR not found: {model}")
    folder = scratch / "model"
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".xml", ".bin"):
        (folder / f"netvlad-tf{suffix}").symlink_to(model.with_suffix(suffix).resolve())
    return folder


def run_accuracy_check(
    data_dir: Path,
    model: Path,
    env_dir: Path = DEFAULT_ENV,
    annotations_dir: Path | None = None,
    device: str = "CPU",
    f32: bool = True,
    config: Path = CONFIG,
    quiet: bool = False,
    input_size: tuple[int, int] | None = None,
) -> AccuracyCheckResult:
    """Evaluate ``model`` (an IR file or a folder with one) on ``data_dir`` with accuracy_check.

    ``data_dir`` is the ``-s`` source root holding ``pitts250k/``. The annotation pickle is
    cached in ``annotations_dir`` when given (delete it after changing the .mat), else rebuilt.
    ``quiet`` captures accuracy_check's output instead of letting it through (it shows progress).
    ``input_size`` (height, width) sets the config's resize; default the IR's own input size
    (the config's 200x300 is netvlad-tf's; netvlad-lite takes 240x320).
    """
    if not Path(data_dir).is_dir():
        raise FileNotFoundError(f"data folder not found: {data_dir}")
    tool = setup_accuracy_checker(env_dir)
    with tempfile.TemporaryDirectory(prefix="accuracy_check-") as scratch:
        scratch = Path(scratch)
        annotations = Path(annotations_dir) if annotations_dir else scratch / "annotations"
        annotations.mkdir(parents=True, exist_ok=True)
        csv_path = scratch / "result.csv"
        folder = model_folder(model, scratch)
        size = input_size or ir_input_size(next(folder.glob("*.xml")))
        config = resized_config(config, size, scratch / Path(config).name)
        command = [
            str(tool),
            "-c",
            str(config),
            "-d",
            str(DEFINITIONS),
            "-m",
            str(folder),
            "-s",
            str(data_dir),
            "-a",
            str(annotations),
            "-td",
            device,
            "--csv_result",
            str(csv_path),
        ]
        if f32:
            command += ["-dc", str(DEVICE_F32)]
        completed = subprocess.run(command, capture_output=quiet, text=True, check=False)
        if completed.returncode != 0 or not csv_path.is_file():
            output = (completed.stdout or "") + (completed.stderr or "")
            detail = output.strip().splitlines()[-1:] or ["see its output above"]
            raise PlaceRecognitionError(
                f"accuracy_check failed (exit code {completed.returncode}): {detail[0]}"
            )
        return _read_result(csv_path, command)


def ir_input_size(xml: Path) -> tuple[int, int]:
    """(height, width) of an IR's image input."""
    from ..core.model import read_model
    from ..core.preprocess import input_spec

    return input_spec(read_model(Path(xml))).size


def resized_config(config: Path, size: tuple[int, int], out: Path) -> Path:
    """``config`` with its resize step set to ``size`` (height, width), written to ``out``."""
    text = Path(config).read_text()
    for key, value in (("dst_height", size[0]), ("dst_width", size[1])):
        text, found = re.subn(rf"({key}:\s*)\d+", rf"\g<1>{value}", text)
        if found != 1:
            raise PlaceRecognitionError(f"{config}: expected one '{key}:' in the resize step")
    out.write_text(text)
    return out


def _read_result(csv_path: Path, command: list[str]) -> AccuracyCheckResult:
    with open(csv_path, newline="") as f:
        row = next(csv.DictReader(f))
    reference = row.get("ref") or None
    return AccuracyCheckResult(
        metric=row["metric_name"],
        value=float(row["metric_value"]),
        reference=float(reference) if reference else None,
        dataset_size=int(row["dataset_size"]),
        command=command,
    )
