"""Selections per partition: the in-memory ids, counts and breakdowns; a bounded, seeded sample."""
import numpy as np
import pytest

from hill_viz.core.edits import Selector
from hill_viz.errors import EditError
from hill_viz.render import Viewport, count_in
from hill_viz.scale import select

from .conftest import lasso


def _selectors(frame):
    x0, x1, y0, y1 = frame.extent()
    poly = lasso(frame.extent())
    return [Selector.of_box(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2), Selector.of_lasso(poly),
            Selector.of_label(2), Selector.of_attribute("group", "g1"),
            Selector.all_of(Selector.of_lasso(poly), Selector.of_attribute("group", "g0")),
            Selector.of_ids([5, 59_999, 30_000, 25_600])]


@pytest.mark.parametrize("k", range(6))
def test_same_ids_counts_and_breakdowns_as_in_memory(dask_frame, memory_frame, k):
    selector = _selectors(memory_frame)[k]
    ctx = memory_frame.context()
    expected = selector.resolve(ctx)
    np.testing.assert_array_equal(select.selected_ids(dask_frame, selector), expected)
    summary = select.summarize(dask_frame, selector, sample_size=40)
    mask = selector.mask(ctx)
    assert summary.count == len(expected)
    for name in memory_frame.categorical_columns:
        k_ = len(memory_frame.categories(name))
        np.testing.assert_array_equal(summary.breakdowns[name],
                                      np.bincount(memory_frame.codes(name)[mask], minlength=k_))
    sample_ids = summary.sample.column("id")
    assert len(sample_ids) == min(40, len(expected)) and np.isin(sample_ids, expected).all()
    assert np.all(np.diff(sample_ids) > 0)


def test_sample_is_seeded_and_independent_of_partitioning(dask_frame, memory_frame):
    selector = Selector.of_lasso(lasso(memory_frame.extent()))
    a = select.summarize(dask_frame, selector, sample_size=25, seed=1)
    b = select.summarize(dask_frame, selector, sample_size=25, seed=1)
    c = select.summarize(dask_frame, selector, sample_size=25, seed=2)
    from dataclasses import replace
    one_part = replace(dask_frame, df=dask_frame.df.repartition(npartitions=1))
    d = select.summarize(one_part, selector, sample_size=25, seed=1)
    assert a.sample.df.equals(b.sample.df) and a.sample.df.equals(d.sample.df)
    assert not np.array_equal(a.sample.column("id"), c.sample.column("id"))
    # the sample rows are the frame's rows, with names for people
    rows = memory_frame.rows_of_ids(a.sample.column("id"))
    np.testing.assert_array_equal(a.sample.column("x"), memory_frame.column("x")[rows])
    assert list(a.sample.describe_rows(np.arange(3))["group"]) == \
        list(memory_frame.describe_rows(rows[:3])["group"])


def test_population_and_count_in_view(dask_frame, memory_frame):
    pop = select.population(dask_frame)
    np.testing.assert_array_equal(pop["label"], np.bincount(memory_frame.codes("label")))
    x0, x1, y0, y1 = memory_frame.extent()
    vp = Viewport((x0, (x0 + x1) / 2), (y0, y1))
    assert select.count_in(dask_frame, vp) == count_in(memory_frame, vp)


def test_empty_selection_and_unknown_ids_are_edit_errors(dask_frame):
    with pytest.raises(EditError, match=r"the selection \(box .*\) is empty"):
        select.selected_ids(dask_frame, Selector.of_box(1e6, 1e6, 2e6, 2e6))
    with pytest.raises(EditError, match=r"1 selected ids are not in the dataset \(first: 70000\)"):
        select.selected_ids(dask_frame, Selector.of_ids([1, 70_000]))
    assert select.summarize(dask_frame, Selector.of_box(1e6, 1e6, 2e6, 2e6)).is_empty


def test_smallest_keys_are_those_a_full_ranking_gives():
    keys = select.sample_keys(np.arange(50_000), seed=4)
    for k in (0, 1, 200, 49_999, 50_000, 60_000):
        got = select._smallest(keys, k)
        assert np.array_equal(np.sort(keys[got]), np.sort(keys)[:k])
    skewed = np.r_[np.arange(5, dtype=np.uint64), np.uint64(2**63) + np.arange(995, dtype=np.uint64)]  # 5 under the cut: ranks every key
    assert np.array_equal(np.sort(select._smallest(skewed, 10)), np.arange(10))
