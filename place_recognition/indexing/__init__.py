"""Keeping a gallery's index up to date with its folder.

Listing the gallery, ``places.csv`` labels and coordinates, the incremental update with its
resume journal, which model embeds for an index (``query_model``), fitting a netvlad-lite head
to the gallery, and the unknown-place threshold a fitted gallery derives from itself.

May import: core, nets, index.
"""
