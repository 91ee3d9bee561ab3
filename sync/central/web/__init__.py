"""The head-office web pages (HTML routers): login, overview, store, fleet, users, directory; the
follow-ups' phone page."""
