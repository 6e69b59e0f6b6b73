"""Measurements against references: OpenVINO's ``benchmark_app``, the Open Model Zoo demo's
method, indexing speed and search at scale. Numbers only; the CLI formats them.

May import: core, scenes, nets, index, indexing, recognition, sequence, eval.
"""
