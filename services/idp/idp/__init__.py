"""The identity provider service."""
