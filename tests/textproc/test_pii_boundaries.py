"""Where a masked number ends: an "X" after an ID card that is a word of its own
(X光, an X-ray) stays in the sentence."""
from __future__ import annotations

import pytest

from textproc import mask_pii


@pytest.mark.parametrize("said, kept", [
    ("我的身份证11010519491231002X X光检查能报销吗", "我的身份证[身份证号] X光检查能报销吗"),
    ("身份证11010519491231002x x光片", "身份证[身份证号] x光片"),
])
def test_an_x_ray_after_an_id_card_is_not_its_check_character(said, kept):
    masked, findings = mask_pii(said)
    assert masked == kept
    assert findings.counts == {"id_card": 1}
