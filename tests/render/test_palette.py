"""The shared palette: every category gets a colour, fixed order, colour-blind-safe sources."""
import re

import pytest

import colorcet

from hill_viz.render.palette import GLASBEY, OKABE_ITO, SEMANTIC, TOL_MUTED, categorical, palette


@pytest.mark.parametrize("n", [0, 1, 2, 3, 8, 10, 17, 20, 30, 40, 200])
def test_palette_covers_every_category_without_repeats(n):
    colors = palette(n)
    assert len(colors) == n
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colors)
    assert len(set(colors)) == n  # 20 classes no longer share an orange (issue 11)


def test_first_colours_are_the_colour_blind_safe_ones_then_glasbey():
    colors = palette(30)
    assert colors[:17] == OKABE_ITO[:-1] + TOL_MUTED[:-1] + (OKABE_ITO[-1], TOL_MUTED[-1])
    glasbey = {c.upper() for c in colorcet.palette[GLASBEY]}
    assert set(colors[17:]) <= glasbey and not set(colors[17:]) & set(colors[:17])


def test_colours_repeat_only_past_every_distinct_one():
    n = len(categorical())
    assert n > 200
    colors = palette(n + 3)
    assert len(set(colors)) == n and colors[n:] == colors[:3]


def test_palette_is_stable_and_prefix_consistent():
    assert palette(5) == palette(10)[:5]  # a legend keeps its colours when a category is added
    assert palette(3) == ("#E69F00", "#56B4E9", "#009E73")  # the fixed colours of the first three categories (Okabe & Ito)


def test_palette_order_okabe_ito_then_tol_with_the_light_colours_last():
    full = palette(17)
    assert full[:7] == OKABE_ITO[:7] and full[7:15] == TOL_MUTED[:8]
    assert full[15:] == ("#F0E442", "#DDCC77")  # yellow and sand fade on white: used last


def test_semantic_columns_keep_their_colours():
    assert palette(2, "correct") == SEMANTIC["correct"]
    assert palette(2, "label") == palette(2)
    with pytest.raises(ValueError):
        palette(-1)
