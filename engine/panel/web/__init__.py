"""The panel's pages by part, each a ``*_routes(web)`` function on the shared ``common.Web``."""
