"""Pure domain: the survey model, day arithmetic, the repeated-press rule and scoring.

Nothing here reads the clock, a file, SQLite, Kivy or the network: time comes in as an argument.
"""
