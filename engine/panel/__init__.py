"""The restaurant's web panel at ``/panel``: kitchen board, menu and hours, taken-over
conversations, today's numbers, the flow as a picture and a chat preview (``routes.panel_routes``)."""
