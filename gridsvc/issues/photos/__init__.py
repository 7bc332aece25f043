"""Photos of issues: checking and re-encoding images, their files and their rows."""
