"""The screens of the kiosk, each a `.py` (behaviour) and `.kv` (layout) pair."""
