"""The engine: plain data in, plain data out. No Panel, HoloViews or Bokeh here."""
