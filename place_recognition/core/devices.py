"""Device names and compile options, checked before OpenVINO sees them."""

from __future__ import annotations

import re

import openvino as ov

from ..errors import DeviceError, PlaceRecognitionError

PRECISIONS = ("f32", "bf16", "f16")
PERFORMANCE_HINTS = ("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT")
_VIRTUAL = ("AUTO", "HETERO", "MULTI", "BATCH")


def physical_devices(device: str) -> list[str]:
    """The real devices named in ``device``: ``HETERO:GPU,CPU`` -> [GPU, CPU]; ``AUTO`` -> []."""
    name, _, rest = device.partition(":")
    if name.upper() not in _VIRTUAL:
        return [device]
    return [re.sub(r"\(.*\)$", "", part.strip()) for part in rest.split(",") if part.strip()]


def check_device(core: ov.Core, device: str) -> None:
    """Raise :class:`DeviceError` naming the available devices when ``device`` is not one."""
    available = core.available_devices
    for wanted in physical_devices(device):
        families = {a.split(".")[0] for a in available}
        if wanted not in available and wanted not in families:
            raise DeviceError(
                f"device '{wanted}' (from {device!r}) is not available here; available devices: "
                f"{', '.join(available) or 'none'} (or AUTO to let OpenVINO choose)"
            )


def compile_config(precision: str | None, performance_hint: str | None) -> dict[str, str]:
    """OpenVINO properties for the options given; ``None`` keeps OpenVINO's default."""
    config: dict[str, str] = {}
    if precision is not None:
        if precision not in PRECISIONS:
            raise PlaceRecognitionError(
                f"unknown precision '{precision}'; choose one of {', '.join(PRECISIONS)}"
            )
        config["INFERENCE_PRECISION_HINT"] = precision
    if performance_hint is not None:
        hint = performance_hint.upper()
        if hint not in PERFORMANCE_HINTS:
            raise PlaceRecognitionError(
                f"unknown performance hint '{performance_hint}'; "
                f"choose one of {', '.join(PERFORMANCE_HINTS)}"
            )
        config["PERFORMANCE_HINT"] = hint
    return config


def precision_in_effect(compiled: ov.CompiledModel) -> str:
    """The inference precision the device actually uses (e.g. bf16 by default on AVX512-BF16)."""
    try:
        value = compiled.get_property("INFERENCE_PRECISION_HINT")
    except RuntimeError:  # virtual devices (AUTO, HETERO) may not report it
        return "unknown"
    return value.get_type_name() if isinstance(value, ov.Type) else str(value)
