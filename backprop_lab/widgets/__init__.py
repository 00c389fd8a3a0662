"""Interactive widgets used by the notebooks (ipywidgets is imported inside each builder function)."""
