"""OpenVINO's ``benchmark_app`` as the reference for "raw inference throughput".

The speed ratios take as reference the best of ``benchmark_app`` with the LATENCY and THROUGHPUT
hints at batch 1, 4 and 8, on the same IR, device and inference precision, measured in the same
run. ``benchmark_app`` ships with the ``openvino`` package (next to the interpreter); it feeds
random tensors that are already at the model's input size, so it is the ceiling for a pipeline
that also decodes and resizes images.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RuntimeFailure

HINTS = ("latency", "throughput")
BATCHES = (1, 4, 8)
_THROUGHPUT = re.compile(r"Throughput:\s+([\d.]+)\s+FPS")
# benchmark_app prints latencies in ms, or in us when they are below a millisecond.
_MEDIAN_LATENCY = re.compile(r"Median:\s+([\d.]+)\s+(ms|us)")


def benchmark_app_path() -> Path:
    """The ``benchmark_app`` of the running interpreter's environment."""
    return Path(sys.executable).with_name("benchmark_app")


def benchmark_app_command(
    model: Path, device: str, hint: str, batch: int, seconds: int, precision: str
) -> list[str]:
    return [
        str(benchmark_app_path()),
        "-m",
        str(model),
        "-d",
        device,
        "-hint",
        hint,
        "-b",
        str(batch),
        "-t",
        str(seconds),
        "-infer_precision",
        precision,
    ]


def run_benchmark_app(command: list[str]) -> float:
    """Frames per second that ``benchmark_app`` reports for ``command``."""
    return float(_report_value(_THROUGHPUT, _run(command), command).group(1))


def run_benchmark_app_full(command: list[str]) -> tuple[float, float]:
    """(frames per second, median latency in ms) that ``benchmark_app`` reports."""
    output = _run(command)
    fps = float(_report_value(_THROUGHPUT, output, command).group(1))
    latency = _report_value(_MEDIAN_LATENCY, output, command)
    scale = 1e-3 if latency.group(2) == "us" else 1.0
    return fps, float(latency.group(1)) * scale


def _run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise RuntimeFailure(f"benchmark_app failed ({' '.join(command)}): {tail}")
    return result.stdout


def _report_value(pattern: re.Pattern, output: str, command: list[str]) -> re.Match:
    found = pattern.search(output)
    if found is None:
        tail = " | ".join(output.strip().splitlines()[-3:])
        raise RuntimeFailure(
            f"benchmark_app printed no {pattern.pattern!r} ({' '.join(command)}): {tail}"
        )
    return found


@dataclass
class BenchmarkAppResult:
    """Throughput (FPS) of every hint/batch configuration and the command of each."""

    fps: dict[str, float] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)

    @property
    def best(self) -> str:
        return max(self.fps, key=self.fps.get)

    @property
    def best_fps(self) -> float:
        return self.fps[self.best]

    def to_dict(self) -> dict:
        return {"fps": self.fps, "commands": self.commands, "best": self.best}


def benchmark_app_sweep(
    models: dict[str, Path],
    device: str,
    precision: str,
    seconds: int = 10,
    hints: tuple[str, ...] = HINTS,
    batches: tuple[int, ...] = BATCHES,
    on_command=None,
) -> dict[str, BenchmarkAppResult]:
    """``benchmark_app`` for every hint x batch, for each of ``models`` (name -> IR).

    The models take turns within each configuration, so that a change in the machine's load
    hits them alike. ``on_command(text)`` sees each command before it runs.
    """
    results = {name: BenchmarkAppResult() for name in models}
    for hint in hints:
        for batch in batches:
            for name, model in models.items():
                command = benchmark_app_command(model, device, hint, batch, seconds, precision)
                key = f"{hint} b{batch}"
                results[name].commands[key] = " ".join(command)
                if on_command is not None:
                    on_command(results[name].commands[key])
                results[name].fps[key] = run_benchmark_app(command)
    return results
