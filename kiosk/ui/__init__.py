"""The Kivy touchscreen app: shopper screens, the manager screen and the `kiosk run` entry point.

Only `kiosk.ui.app` and the screen modules import Kivy; the presenters, theme and translations are plain
Python so that the logic is tested without a window and `kiosk --help` never loads Kivy.
"""
