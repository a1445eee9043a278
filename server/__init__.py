"""shadernet's web server: the drawing page, its assets (Pyodide, runtime wheel) and the model API.

`server.main.create_app(settings)` builds the FastAPI app; `shadernet serve` runs it.
"""
