"""The checks that catch, in seconds, what would otherwise fail a deploy after minutes of paid GPU time."""
