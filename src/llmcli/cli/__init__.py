"""Command-line parsing: thin Typer commands that call the core and render its result."""
