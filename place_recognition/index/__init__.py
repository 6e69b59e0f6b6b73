"""The place index: a faiss index, the gallery records and a manifest, persisted atomically.

``place_index`` (PlaceIndex: search and persistence), ``manifest`` (the format: fields, checks,
reading, writing, upgrading older versions), ``storage`` (generation-numbered data files),
``records`` and ``modes`` (exact or approximate search). The manifest's query model and
thresholds are data here: indexing/ and recognition/ decide what they mean.

May import: core.
"""
