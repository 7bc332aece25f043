"""Open311 GeoReport v2 over the issues: services, requests, access and XML."""
