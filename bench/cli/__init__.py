"""The command line, the composition root: it loads the built-in and user plugins."""
