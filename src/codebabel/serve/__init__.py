"""``codebabel serve``: an OpenAI-compatible HTTP server over codebabel's own backends, in-process.

``protocol.py`` (the wire format: requests, responses, stream chunks, the error object), ``model.py`` (the
served model: the base through ``make_backend``, optionally a routing run's experts and ``auto``),
``engine.py`` (the one generation thread: a bounded queue; llama.cpp: continuous batching, requests joining a
running decoding loop; transformers: batches to the backend's batched ``generate``),
``app.py`` (the FastAPI endpoints), ``server.py`` (``ServeConfig``, binding, uvicorn, graceful shutdown).
"""
