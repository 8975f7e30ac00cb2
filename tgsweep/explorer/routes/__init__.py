"""The explorer's routes, one module per area; tgsweep/explorer/app.py composes them."""
