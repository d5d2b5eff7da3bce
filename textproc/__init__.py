"""Text handling shared by the gateway, the NLU pipeline and the actions.

- ``normalize``: traditional → simplified, full-width → half-width, spoken digits.
- ``pii``: masking of ID-card, mobile and bank-card numbers.
"""
from textproc.normalize import normalize
from textproc.pii import mask_pii, PiiFindings

__all__ = ["normalize", "mask_pii", "PiiFindings"]
