"""Channel adapters: each translates one platform to `Incoming` and `Outgoing`, nothing else."""
