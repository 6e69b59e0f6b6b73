"""The place-recognition service: a REST and WebSocket API and a browser page (FastAPI).

Owns the HTTP surface (routes, errors as JSON, the API key, upload limits), the engine behind
it (dynamic batching of concurrent requests, hot reload of new index generations, one sequence
matcher per live stream) and the page's static files. The CLI's ``serve`` command runs it on
uvicorn.

May import: core, index, indexing, recognition, sequence.
"""
