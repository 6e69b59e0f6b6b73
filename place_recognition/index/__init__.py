"""The place index: a faiss index, the gallery records and a manifest, persisted atomically.

Search, persistence and the index modes (exact or approximate); nothing about how the vectors
were made.

May import: core.
"""
