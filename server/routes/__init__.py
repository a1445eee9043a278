"""One router module per resource: models (the API), assets, page, health, replay and mnist
(the data the page fine-tunes and trains on)."""
