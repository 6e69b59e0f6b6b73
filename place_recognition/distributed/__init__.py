"""Gallery indexing on a Dask cluster: the same incremental update as indexing/, with the
images embedded in shards on many workers and approximate indexes built shard by shard.

``cluster`` (a local cluster or a running scheduler), ``shards`` (the work split by content key,
the staging folder where workers leave their results), ``worker`` (what runs in a worker
process: one compiled model per worker, a shard embedded, rows added to a trained index),
``engine`` (the driver: the shards scheduled, retried, resumed and gathered), ``ivf_build``
(train on a sample, add in parallel, merge the inverted lists in memory or on disk),
``report`` (progress bar and summary) and ``update`` (``update_on_cluster``, the entry point).
docs/distributed.md says how to run it and what the workers must share.

May import: core, index, indexing.
"""
