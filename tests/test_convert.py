"""The TF-free converter on the TF1 checkpoint fixture: fidelity to TensorFlow, interface."""

from __future__ import annotations

import logging
import re
import shutil

import numpy as np
import openvino as ov
import pytest

from place_recognition.cli import convert_netvlad as convert_cli
from place_recognition.convert.tf_to_ir import (
    ConversionError,
    NetvladSource,
    convert_netvlad,
    locate_source,
    omz_ir_path,
    write_irs,
)
from place_recognition.core.model import EmbeddingModel, rt_value
from place_recognition.errors import PlaceRecognitionError
from place_recognition.nets.netvlad_tf import INPUT_NAME, OUTPUT_NAME

from conftest import F32
from netvlad_fixture import (
    CHECKPOINT_DIR,
    FIXTURE,
    FROZEN,
    PREFIX,
    TOLERANCE,
    bgr_batch,
    copy_checkpoint,
    goldens,
    goldens_of_size,
    max_error,
)


@pytest.fixture(scope="module")
def meta_model() -> ov.Model:
    return convert_netvlad(locate_source(FIXTURE))


def test_the_fixture_directory_resolves_to_the_metagraph():
    source = locate_source(FIXTURE)
    assert source == NetvladSource("meta", PREFIX.with_name(PREFIX.name + ".meta"))
    # Every other way of pointing at the same checkpoint finds the same files.
    for given in (CHECKPOINT_DIR, PREFIX, PREFIX.with_name(PREFIX.name + ".index")):
        assert locate_source(given) == source
    assert locate_source(FROZEN) == NetvladSource("frozen", FROZEN)


def test_metagraph_route_matches_tensorflow(meta_model):
    assert max_error(meta_model) < TOLERANCE


def test_frozen_graph_route_matches_tensorflow():
    assert max_error(convert_netvlad(locate_source(FROZEN))) < TOLERANCE


def test_checkpoint_without_meta_is_rebuilt_from_its_variables(tmp_path, caplog):
    prefix = copy_checkpoint(tmp_path, with_meta=False)
    source = locate_source(tmp_path)
    assert source == NetvladSource("variables", prefix)
    assert "building the known topology" in caplog.text
    assert max_error(convert_netvlad(source)) < TOLERANCE


@pytest.mark.parametrize("kind", ["meta", "frozen", "variables"])
def test_other_input_sizes(kind, tmp_path):
    source = {
        "meta": locate_source(FIXTURE),
        "frozen": locate_source(FROZEN),
        "variables": NetvladSource("variables", PREFIX),
    }[kind]
    model = convert_netvlad(source, input_size=(120, 176))
    assert list(model.input(0).shape) == [1, 120, 176, 3]
    assert max_error(model, 120, 176) < TOLERANCE


def test_interface_is_the_omz_one(meta_model):
    port = meta_model.input(0)
    # Both spellings: OMZ IRs carry the bare TF names, OpenVINO's frontend adds ":0".
    assert port.get_names() == {INPUT_NAME, f"{INPUT_NAME}:0"}
    assert meta_model.output(0).get_names() == {OUTPUT_NAME, f"{OUTPUT_NAME}:0"}
    assert list(port.shape) == [1, 200, 300, 3]
    assert port.element_type == ov.Type.f32
    assert ov.layout_helpers.get_layout(port).to_string() == "[N,H,W,C]"
    assert list(meta_model.output(0).shape) == [1, 256]
    assert rt_value(meta_model, "name") == "netvlad-tf"
    assert "TensorFlow frontend (meta)" in rt_value(meta_model, "converted_with")


def test_input_is_bgr(meta_model):
    """RGB fed where the IR expects BGR must not give the TensorFlow answer."""
    compiled = ov.Core().compile_model(meta_model, "CPU", {"INFERENCE_PRECISION_HINT": F32})
    rgb, expected = goldens()[0]
    wrong = compiled(np.ascontiguousarray(rgb[None], dtype=np.float32))[0][0]
    assert np.abs(wrong - expected).max() > 10 * TOLERANCE
    assert np.abs(compiled(bgr_batch(rgb))[0][0] - expected).max() < TOLERANCE


def _opsets(xml_text: str) -> set[int]:
    return {int(v) for v in re.findall(r'version="opset(\d+)"', xml_text)}


def test_written_irs_follow_the_omz_tree_and_stay_readable_by_openvino_2023(meta_model, tmp_path):
    written = write_irs(meta_model, tmp_path, ("FP16", "FP32"))
    assert list(written) == ["FP32", "FP16"]
    for precision, path in written.items():
        assert path == tmp_path / "public" / "netvlad-tf" / precision / "netvlad-tf.xml"
        assert path == omz_ir_path(tmp_path, precision)
        # OpenVINO 2023.3 (the accuracy checker's) reads opsets up to 13.
        assert max(_opsets(path.read_text())) <= 13
    fp32 = tmp_path / "public/netvlad-tf/FP32/netvlad-tf.bin"
    fp16 = tmp_path / "public/netvlad-tf/FP16/netvlad-tf.bin"
    assert fp16.stat().st_size < 0.6 * fp32.stat().st_size  # half-float weights
    assert max_error(written["FP32"]) < TOLERANCE
    assert max_error(written["FP16"]) < 5e-3  # weights rounded to 11 significant bits


def test_converted_ir_runs_through_the_embedding_model(meta_model, tmp_path):
    path = write_irs(meta_model, tmp_path, ("FP32",))["FP32"]
    model = EmbeddingModel(path, precision=F32)
    assert model.name == "netvlad-tf" and not model.synthetic and model.dim == 256
    for rgb, expected in goldens_of_size(200, 300):
        # u8 BGR frame at the input size: the in-graph resize is the identity.
        assert np.abs(model.embed(np.ascontiguousarray(rgb[:, :, ::-1])) - expected).max() < 1e-4


def test_cli_writes_both_precisions_and_the_default_model(tmp_path, capsys):
    model_path = tmp_path / "models" / "netvlad-tf.xml"
    argv = [str(FIXTURE), "-o", str(tmp_path / "omz"), "--model-path", str(model_path), "-q"]
    assert convert_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "FP32" in out and "FP16" in out
    assert omz_ir_path(tmp_path / "omz", "FP16").is_file()
    assert model_path.read_bytes() == omz_ir_path(tmp_path / "omz", "FP32").read_bytes()
    assert max_error(model_path) < TOLERANCE


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert convert_cli.main([str(tmp_path / "nothing-here"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err
    assert convert_cli.main(["-q"]) == 2
    assert "--download" in capsys.readouterr().err
    assert convert_cli.main([str(FIXTURE), "--precisions", "INT8"]) == 2  # usage error
    assert "expected FP32 and/or FP16" in capsys.readouterr().err


def test_empty_folder_says_what_to_download(tmp_path):
    with pytest.raises(
        ConversionError, match=r"no netvlad-tf checkpoint.*netvlad-tf/vd16_pitts30k"
    ):
        locate_source(tmp_path)


def test_missing_data_shard_is_refused_before_converting(tmp_path):
    prefix = copy_checkpoint(tmp_path)
    data = prefix.with_name(prefix.name + ".data-00000-of-00001")
    data.unlink()
    with pytest.raises(PlaceRecognitionError, match=re.escape(str(data)) + " is missing"):
        convert_netvlad(locate_source(tmp_path))


def test_truncated_data_shard_is_refused_before_converting(tmp_path):
    prefix = copy_checkpoint(tmp_path)
    data = prefix.with_name(prefix.name + ".data-00000-of-00001")
    data.write_bytes(data.read_bytes()[:-100])
    with pytest.raises(PlaceRecognitionError, match="truncated"):
        convert_netvlad(locate_source(tmp_path))


def test_damaged_index_is_refused(tmp_path):
    prefix = copy_checkpoint(tmp_path)
    index = prefix.with_name(prefix.name + ".index")
    index.write_bytes(b"\0" * 100)
    with pytest.raises(PlaceRecognitionError, match=re.escape(str(index))):
        convert_netvlad(locate_source(tmp_path))


def test_a_graph_without_the_netvlad_output_is_refused(tmp_path):
    broken = tmp_path / "model_frozen.pb"
    broken.write_bytes(b"not a graph")
    root = logging.getLogger()
    level = root.level
    with pytest.raises(ConversionError, match="OpenVINO cannot convert"):
        convert_netvlad(locate_source(broken))
    assert root.level == level  # OpenVINO left it at ERROR after a failure, hiding warnings


def test_two_checkpoints_are_ambiguous(tmp_path):
    copy_checkpoint(tmp_path / "a")
    other = tmp_path / "b" / "other"
    shutil.copytree(CHECKPOINT_DIR, other)
    for path in other.iterdir():
        path.rename(other / path.name.replace(CHECKPOINT_DIR.name, "other"))
    # The real checkpoint name wins over any other.
    assert locate_source(tmp_path).path.parent == tmp_path / "a" / CHECKPOINT_DIR.name
    shutil.rmtree(tmp_path / "a")
    shutil.copytree(other, tmp_path / "c")
    with pytest.raises(ConversionError, match="several checkpoints"):
        locate_source(tmp_path)
