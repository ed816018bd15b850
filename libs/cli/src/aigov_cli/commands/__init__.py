"""The `aigov` subcommands, one module per resource."""
