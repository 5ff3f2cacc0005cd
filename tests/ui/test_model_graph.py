"""A Bokeh freeze recomputes the document's models at its end only when the graph changed in it
(`hill_viz.ui.model_graph`): data-only updates skip the walk; new models, new roots and removed
roots are still known to the document afterwards."""
from bokeh.document import Document
from bokeh.models import Column, ColumnDataSource, DataTable, Div

import hill_viz.ui.model_graph  # noqa: F401 - the patch under test


def _page():
    doc, source, column = Document(), ColumnDataSource({"x": [1, 2]}), Column(Div(text="page"))
    column.children.append(DataTable(source=source))
    doc.add_root(column)
    return doc, source, column


def _counting_recomputes(doc) -> list[int]:
    count, recompute = [0], doc.models.recompute

    def counted():
        count[0] += 1
        recompute()

    doc.models.recompute = counted
    return count


def test_a_freeze_that_changes_only_data_and_text_recomputes_nothing():
    doc, source, column = _page()
    recomputes = _counting_recomputes(doc)
    with doc.models.freeze():
        source.data = {"x": [3, 4, 5]}  # what a HoloViews redraw changes
        column.children[0].text = "new text"
    assert recomputes[0] == 0 and source.data["x"] == [3, 4, 5]


def test_models_added_in_a_freeze_join_the_document_at_its_end():
    doc, source, column = _page()
    recomputes = _counting_recomputes(doc)
    with doc.models.freeze():
        column.children.append(added := Div(text="added"))
        assert doc.get_model_by_id(added.id) is None
    assert recomputes[0] == 1 and doc.get_model_by_id(added.id) is added
    column.children.remove(added)  # outside a freeze: at once, as Bokeh does
    assert doc.get_model_by_id(added.id) is None


def test_roots_added_and_removed_are_known_after_the_freeze():
    doc, source, column = _page()
    doc.add_root(root := Column(inner := Div(text="second root")))
    assert doc.get_model_by_id(inner.id) is inner
    with doc.models.freeze():
        doc.remove_root(root)
    assert doc.get_model_by_id(inner.id) is None
    doc.clear()
    assert doc.get_model_by_id(source.id) is None
