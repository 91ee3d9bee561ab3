"""One router per resource: the device's own endpoints and head office's reads."""
