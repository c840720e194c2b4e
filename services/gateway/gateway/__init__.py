"""The API gateway service."""
