"""One Typer group per collection of the API, each command a few lines over ``ApiClient``."""
