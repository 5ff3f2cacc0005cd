"""The shared palette: every category gets a colour, fixed order, colour-blind-safe sources."""
import re

import pytest

from hill_viz.render.palette import OKABE_ITO, SEMANTIC, TOL_MUTED, palette


@pytest.mark.parametrize("n", [0, 1, 2, 3, 8, 10, 17, 40])
def test_palette_covers_every_category(n):
    colors = palette(n)
    assert len(colors) == n
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colors)
    assert set(colors) <= set(OKABE_ITO) | set(TOL_MUTED)
    assert len(set(colors)) == min(n, 17)  # distinct until the palette is used up


def test_palette_is_stable_and_prefix_consistent():
    assert palette(5) == palette(10)[:5]
    assert palette(3) == palette(3)


def test_semantic_columns_keep_their_colours():
    assert palette(2, "correct") == SEMANTIC["correct"]
    assert palette(2, "label") == palette(2)
    with pytest.raises(ValueError):
        palette(-1)
