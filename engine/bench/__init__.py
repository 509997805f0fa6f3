"""The installed `randstyle bench`: the harness that times the objective on each backend
(against PyTorch where it imports) and writes its results where the user says."""
