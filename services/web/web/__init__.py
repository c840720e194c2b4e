"""The web service: the front end, served by uvicorn in a container (web.main)."""
