"""geo-service: maps, downloads and proximity checks for the Mali–Senegal border region."""

__version__ = "0.1.0"
