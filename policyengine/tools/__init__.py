"""Tools around the engine for people who write and test rules."""
