"""Test and demo helpers that write data shaped exactly like what the running system produces."""
