"""Readers of users' files, writers of downloads, GeoJSON rules and import validation."""
