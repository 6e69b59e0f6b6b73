"""Keeping a gallery's index up to date with its folder.

Listing the gallery, ``places.csv`` labels and coordinates, the incremental update with its
resume journal, the engine that does its embedding and index building (``engine``: this
process; distributed/ brings a cluster), which model embeds for an index (``query_model``),
fitting a netvlad-lite head to the gallery, and the unknown-place threshold a fitted gallery
derives from itself.

May import: core, nets, index.
"""
