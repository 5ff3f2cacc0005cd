"""An edit's values are checked before it is recorded: none can overflow float32 targets or the loss."""
import json

import numpy as np
import pytest

from hill_viz.core.edit_bounds import MAX_MOVE_EXTENTS, selector_ids
from hill_viz.core.edits import Edit, ResolvedEdit, SelectionContext, Selector, edits_from_json
from hill_viz.errors import EditError


@pytest.fixture
def ctx():
    """A cloud 4 wide and 2 high: moves up to 40 view units are allowed on it."""
    rng = np.random.default_rng(0)
    n = 300
    x = np.r_[-2.0, 2.0, rng.uniform(-2, 2, n - 2)].astype(np.float32)
    y = np.r_[0.0, 0.0, rng.uniform(-1, 1, n - 2)].astype(np.float32)
    return SelectionContext(ids=np.arange(n, dtype=np.int64), x=x, y=y, labels=rng.integers(0, 3, n),
                            class_names=("a", "b", "c"))


@pytest.mark.parametrize("edit, message", [
    ({"op": "translate", "selector": {"kind": "label", "label": 1}, "params": {"dx": 1e308, "dy": 0}},
     "translate dx must be within +-1e+06 view units"),
    ({"op": "separate", "selector": {"kind": "label", "label": 1}, "params": {"other": {"kind": "label", "label": 2},
                                                                              "margin": 1e300}},
     "separate margin must be within"),
    ({"op": "pin", "selector": {"kind": "label", "label": 1}, "weight": 1e300}, "at most 100"),
    ({"op": "pin", "selector": {"kind": "label", "label": 1}, "weight": True}, "weight must be a number"),
    ({"op": "translate", "selector": {"kind": "label", "label": 1}, "params": {"dx": "0.5", "dy": 0}},
     "dx must be a number, got '0.5'"),
    ({"op": "pin", "selector": {"kind": "ids", "ids": ["a"]}}, "got 'a'"),
    ({"op": "pin", "selector": {"kind": "ids", "ids": [10**30]}}, "got 1000000000000000000000000000000"),
    ({"op": "pin", "selector": {"kind": "ids", "ids": [1.5]}}, "got 1.5"),
    ({"op": "pin", "selector": {"kind": "ids", "ids": "abc"}}, "whole numbers"),
    ({"op": "pin", "selector": {"kind": "lasso", "lasso": [[0, 0], [1], [2, 2]]}}, "lasso vertex #1 must be an"),
    ({"op": "pin", "selector": {"kind": "lasso", "lasso": [[0, 0], "ab", [2, 2]]}}, "lasso vertex #1 must be an"),
    ({"op": "pin", "selector": {"kind": "lasso", "lasso": 7}}, "a lasso must be a list"),
])
def test_values_that_would_poison_training_are_refused_with_one_line(edit, message):
    with pytest.raises(EditError, match=message.replace("+", r"\+").replace("[", r"\[")):
        edits_from_json(json.dumps([edit]))


def test_a_move_is_bounded_by_the_extent_of_the_cloud_it_is_made_on(ctx):
    extent = 4.0
    ok = Edit.translate(Selector.of_label(0), MAX_MOVE_EXTENTS * extent * 0.99, 0)
    assert len(ok.resolve(ctx).ids) == int((ctx.labels == 0).sum())
    with pytest.raises(EditError, match=r"translate dy = 41 is more than 10 times the extent of the view \(4\)"):
        Edit.translate(Selector.of_label(0), 0, 41).resolve(ctx)
    with pytest.raises(EditError, match="separate margin = 50 is more than 10 times"):
        Edit.separate(Selector.of_label(0), Selector.of_label(1), margin=50).resolve(ctx)


def test_ids_are_int64_whatever_they_come_as():
    assert selector_ids([3, 1]).dtype == np.int64
    assert selector_ids(np.array([2.0, 5.0])).tolist() == [2, 5]
    assert selector_ids(np.arange(5, dtype=np.uint8)).tolist() == [0, 1, 2, 3, 4]
    assert selector_ids([]).tolist() == []
    with pytest.raises(EditError, match="got 18446744073709551615"):
        selector_ids(np.array([2**64 - 1], dtype=np.uint64))
    with pytest.raises(EditError, match="got True"):
        selector_ids([True])
    big = np.arange(10**6, dtype=np.int64)
    assert Selector.of_ids(big).ids[-1] == 10**6 - 1
    with pytest.raises(EditError, match="got 'x'"):
        ResolvedEdit.from_dict({"op": "pin", "selector": {"kind": "label", "label": 0}, "ids": ["x"]})


def test_lasso_polygons_from_arrays_and_lists_agree():
    poly = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]
    assert Selector.of_lasso(np.array(poly)) == Selector.of_lasso(poly) == Selector.from_dict(
        {"kind": "lasso", "lasso": [list(p) for p in poly]})
    with pytest.raises(EditError, match="at least 3 points"):
        Selector.of_lasso(poly[:2])
