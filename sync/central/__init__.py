"""The reference central server `kiosk-central`: FastAPI + uvicorn, storage through SQLAlchemy Core.

An embedded SQLite file by default, PostgreSQL with a postgresql:// URL. Needs the `server` extra.
"""
