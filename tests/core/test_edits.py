import json

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from hill_viz.core.edits import Edit, SelectionContext, Selector, edit_targets, edits_from_json, edits_to_json
from hill_viz.core.geometry import lasso_mask
from hill_viz.errors import EditError


@pytest.fixture
def ctx():
    rng = np.random.default_rng(0)
    n = 500
    return SelectionContext(
        ids=np.arange(n, dtype=np.int64) + 1000,
        x=rng.normal(size=n).astype(np.float32), y=rng.normal(size=n).astype(np.float32),
        labels=rng.integers(0, 3, n), attributes={"cue": rng.integers(0, 2, n).astype(np.int8)},
        attribute_categories={"cue": ("red", "green")}, class_names=("a", "b", "c"))


def test_selectors_resolve_to_the_right_ids(ctx):
    assert np.array_equal(Selector.of_label(1).resolve(ctx), ctx.ids[ctx.labels == 1])
    assert np.array_equal(Selector.of_attribute("cue", "green").resolve(ctx), ctx.ids[ctx.attributes["cue"] == 1])
    box = Selector.of_box(0.5, -1, -0.5, 1).resolve(ctx)  # corners in any order
    expect = ctx.ids[(ctx.x >= -0.5) & (ctx.x <= 0.5) & (ctx.y >= -1) & (ctx.y <= 1)]
    assert np.array_equal(box, expect)
    both = Selector.all_of(Selector.of_label(2), Selector.of_attribute("cue", "red")).resolve(ctx)
    assert np.array_equal(both, ctx.ids[(ctx.labels == 2) & (ctx.attributes["cue"] == 0)])
    assert np.array_equal(Selector.of_ids([1003, 1001]).resolve(ctx), [1001, 1003])


def test_lasso_matches_matplotlib():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-2, 2, (2, 20000))
    angles = np.sort(rng.uniform(0, 2 * np.pi, 50))
    radius = rng.uniform(0.5, 1.8, 50)
    poly = np.c_[radius * np.cos(angles), radius * np.sin(angles)]
    expect = MplPath(poly).contains_points(np.c_[x, y])
    assert np.array_equal(lasso_mask(x, y, poly), expect)


@pytest.mark.parametrize("selector, message", [
    (Selector.of_label(7), "label 7 does not exist"),
    (Selector.of_attribute("colour", "red"), "unknown attribute 'colour'"),
    (Selector.of_attribute("cue", "blue"), "has no value 'blue'"),
    (Selector.of_box(50, 50, 60, 60), "is empty"),
    (Selector.of_ids([5]), "not in the dataset"),
])
def test_bad_selections_say_what_to_fix(ctx, selector, message):
    with pytest.raises(EditError, match=message):
        selector.resolve(ctx)


@pytest.mark.parametrize("make, message", [
    (lambda s: Edit("rotate", s), "unknown edit op 'rotate'"),
    (lambda s: Edit.translate(s, float("nan"), 0), "finite"),
    (lambda s: Edit.contract(s, -1), "between 0 and 100"),
    (lambda s: Edit.separate(s, s, margin=-2), "margin must be >= 0"),
    (lambda s: Edit("translate", s, (("dx", 1.0),)), "needs the parameter"),
    (lambda s: Edit.pin(s, weight=0), "weight must be > 0"),
])
def test_bad_edits_are_rejected(make, message):
    with pytest.raises(EditError, match=message):
        make(Selector.of_label(0))


def test_json_round_trip_and_errors():
    edits = [Edit.translate(Selector.of_label(1), 1.5, -2), Edit.contract(Selector.of_box(0, 0, 1, 1), 0.5),
             Edit.separate(Selector.of_label(0), Selector.of_attribute("cue", "red"), 0.3),
             Edit.merge(Selector.of_lasso([(0, 0), (1, 0), (0, 1)]), Selector.of_label(2)),
             Edit.pin(Selector.of_ids([1, 2, 3]), weight=2)]
    assert edits_from_json(edits_to_json(edits)) == edits
    with pytest.raises(EditError, match="not valid JSON"):
        edits_from_json("[{")
    with pytest.raises(EditError, match="edit #0: unknown edit op 'spin'"):
        edits_from_json(json.dumps([{"op": "spin", "selector": {"kind": "label", "label": 1}}]))
    with pytest.raises(EditError, match="needs the field 'label'"):
        edits_from_json(json.dumps([{"op": "pin", "selector": {"kind": "label"}}]))
    with pytest.raises(EditError, match="finite"):
        edits_from_json('[{"op": "translate", "selector": {"kind": "label", "label": 1}, '
                        '"params": {"dx": NaN, "dy": 0}}]')


def test_target_rules():
    rng = np.random.default_rng(2)
    p = rng.normal(size=(100, 2))
    q = rng.normal(size=(80, 2)) + [0.5, 0]
    sel = Selector.of_label(0)
    t, _ = edit_targets(Edit.translate(sel, 2, -1), p)
    assert np.allclose(t - p, [2, -1])
    t, _ = edit_targets(Edit.contract(sel, 0.5), p)
    assert np.allclose(t.mean(0), p.mean(0))
    assert np.allclose(t - t.mean(0), 0.5 * (p - p.mean(0)))
    t, tq = edit_targets(Edit.merge(sel, sel), p, q)
    assert np.allclose(t.mean(0), q.mean(0)) and np.allclose(tq, q)
    t, tq = edit_targets(Edit.separate(sel, sel, margin=1.0), p, q)
    gap = np.linalg.norm(t.mean(0) - tq.mean(0))
    r = lambda a: np.quantile(np.linalg.norm(a - a.mean(0), axis=1), 0.9)
    assert gap == pytest.approx(r(p) + r(q) + 1.0, rel=1e-6)
    assert np.allclose(t - p, t[0] - p[0])  # rigid shift


def test_the_docstring_examples_run():
    import doctest

    import hill_viz.core.edits as edits

    result = doctest.testmod(edits)
    assert result.attempted >= 3 and result.failed == 0
