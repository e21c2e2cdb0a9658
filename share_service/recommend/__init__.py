"""« Plus de contenu »: related-content recommendations from the site's own catalogue.

``engine.Recommender`` (one per worker) answers; ``index.SiteIndex`` is the incremental
in-memory index; ``scoring`` holds the formula and the diversity pass; ``text`` the analysis."""

from .engine import Recommender

__all__ = ["Recommender"]
