"""The `atb` command line: each command is a thin layer over the library."""
