"""The `keras-ext` command line: `keras-ext train` (more subcommands register in `main`)."""
