"""One module per ``rinconcito`` command, each with ``run(args) -> int``; see ``engine.cli.main``."""
