"""Error bounds derived from the operation's rounding points, and the comparisons that use them."""
