"""Control flow: loops over an inner graph (map; scan and ifelse come later)."""
