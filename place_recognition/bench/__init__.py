"""Measurements against references: OpenVINO's ``benchmark_app``, the Open Model Zoo demo's
method, indexing speed, search at scale and distributed indexing. Numbers only; the CLI
formats them.

May import: core, scenes, nets, index, indexing, recognition, sequence, eval, distributed.
"""
