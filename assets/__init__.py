"""The kiosk's assets (faces, fonts, gettext catalogs), installed as the data package `kiosk_assets`.

Only here so that setuptools ships the files and the app finds them wherever it is installed.
"""
