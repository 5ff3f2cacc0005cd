"""batched: the page's models recomputed once per block and only when the block changed which models
the page holds; a block that raises leaves the page live."""
import pytest
from bokeh.document import Document
from bokeh.models import Column, ColumnDataSource, DataTable, Div

from hill_viz.ui.session_watch import batched


def test_models_added_in_a_block_join_the_page_when_it_ends():
    doc, column = Document(), Column()
    doc.add_root(column)
    with batched(doc):
        column.children.append(added := Div(text="added"))
        assert doc.get_model_by_id(added.id) is None  # deferred: not one recompute per change
    assert doc.get_model_by_id(added.id) is added


def test_a_block_that_raises_leaves_the_page_updating():
    doc = Document()
    doc.add_root(Div(text="page"))
    with pytest.raises(RuntimeError):
        with batched(doc):
            raise RuntimeError("a plot update failed")
    doc.add_root(later := Div(text="later"))
    assert doc.get_model_by_id(later.id) is later  # Bokeh's own freeze() would have stayed frozen


def _counting_recomputes(doc) -> list[int]:
    count, recompute = [0], doc.models.recompute

    def counted():
        count[0] += 1
        recompute()

    doc.models.recompute = counted
    return count


def test_a_block_that_changes_only_data_recomputes_nothing():
    doc, source = Document(), ColumnDataSource({"x": [1, 2]})
    doc.add_root(Column(Div(text="page"), DataTable(source=source)))
    recomputes = _counting_recomputes(doc)
    with batched(doc):
        source.data = {"x": [3, 4, 5]}  # what a HoloViews redraw changes: data, not which models
        doc.roots[0].children[0].text = "new text"
    assert recomputes[0] == 0 and doc.roots[0].children[0].text == "new text"


def test_nested_blocks_recompute_once_when_the_outer_one_ends():
    doc, column = Document(), Column()
    doc.add_root(column)
    recomputes = _counting_recomputes(doc)
    with batched(doc):
        with batched(doc):
            column.children.append(inner := Div(text="inner"))
        assert recomputes[0] == 0 and doc.get_model_by_id(inner.id) is None
        column.children.append(outer := Div(text="outer"))
    assert recomputes[0] == 1
    assert doc.get_model_by_id(inner.id) is inner and doc.get_model_by_id(outer.id) is outer
