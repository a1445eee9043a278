"""One router module per resource: models (the API), assets, page, health."""
