"""batched: the page's models recomputed once per block, and a block that raises leaves the page live."""
import pytest
from bokeh.document import Document
from bokeh.models import Column, Div

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
