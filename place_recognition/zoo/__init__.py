"""The models the project knows, ready to use: netvlad-lite built on first use with its
unknown-place threshold calibrated, and where every model lives by default.

May import: core, scenes, nets, eval, recognition.
"""
