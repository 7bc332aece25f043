"""gridsvc: geospatial grid management for Chinese cities."""

__version__ = "0.1.0"
