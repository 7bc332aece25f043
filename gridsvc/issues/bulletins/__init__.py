"""Periodic bulletins (定期通报): figures, HTML, map, PDF, archive and routes."""
