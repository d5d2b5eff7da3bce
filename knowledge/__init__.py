"""Per-place medical-insurance knowledge: content files, validation, store, retrieval.

Content lives in ``knowledge/content/*.yml`` (one file per place plus ``national.yml``);
``python -m knowledge load`` validates it and writes it to ``DATABASE_URL``.
"""
