"""The reporter's side: secrets, tracking, rate limits, and the public's published reports."""
