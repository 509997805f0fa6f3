"""The benchmark harness (``randstyle bench``) and the scripts behind the README's tables."""
