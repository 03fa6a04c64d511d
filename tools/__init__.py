"""Jobs the graph nodes call; nothing here knows about graphs."""
