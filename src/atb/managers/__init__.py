"""Position managers shared by both engines: sans-IO, generic over the domain Protocols."""
