"""Text handling shared by the gateway, the NLU pipeline and the actions.

- ``normalize``: traditional → simplified, full-width → half-width, spoken digits.
- ``pii``: masking of personal numbers (ID cards, mobiles, landlines, bank cards,
  document numbers, long runs) and e-mail addresses, however they are typed or dictated.
"""
from textproc.normalize import normalize
from textproc.pii import PiiFindings, mask_pii

__all__ = ["normalize", "mask_pii", "PiiFindings"]
