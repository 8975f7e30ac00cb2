"""`tgsweep serve`: the analyst's explorer, a local web page and JSON API over the store.

data.py reads what a page shows from the store; layout.py places a big graph's nodes (pure);
thumbs.py blurs media previews (pure, bytes in, bytes out); app.py is the FastAPI app and its
guards (loopback, token, host and origin checks); static/ is the page (plain HTML and JS, with
cytoscape.js vendored from npm by scripts/vendor_js.sh).
"""
