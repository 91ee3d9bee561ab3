"""Head-office web pages (HTML); the phone page of follow-ups."""
