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
    assert palette(5) == palette(10)[:5]  # a legend keeps its colours when a category is added
    assert palette(3) == ("#E69F00", "#56B4E9", "#009E73")  # the fixed colours of the first three categories (Okabe & Ito)


def test_palette_order_okabe_ito_then_tol_with_the_light_colours_last():
    full = palette(17)
    assert full[:7] == OKABE_ITO[:7] and full[7:15] == TOL_MUTED[:8]
    assert full[15:] == ("#F0E442", "#DDCC77")  # yellow and sand fade on white: used last
    assert palette(19)[17:] == full[:2]  # past 17 categories the colours repeat from the start


def test_semantic_columns_keep_their_colours():
    assert palette(2, "correct") == SEMANTIC["correct"]
    assert palette(2, "label") == palette(2)
    with pytest.raises(ValueError):
        palette(-1)
