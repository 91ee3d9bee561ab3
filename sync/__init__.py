"""Sync to head office: the outbox uploader, its scheduled jobs and the reference central server.

Empty for now: the core issue only reserves the package; the sync issue fills it.
"""
