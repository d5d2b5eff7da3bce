"""Hand-off to the hotlines (12393 / 12345): routing rules and tickets.

- :mod:`hotline.routing` — which hotline a resident should call, from ``knowledge/hotline.yml``;
- :mod:`hotline.tickets` — hand-off tickets and unanswered questions, stored in the
  knowledge base's database (tables in :mod:`hotline.models`);
- :mod:`hotline.passwords` — staff console password hashes (``python -m hotline hash-password``);
- :mod:`hotline.evaluate` — accuracy and latency of the staff console's suggestions.
"""
