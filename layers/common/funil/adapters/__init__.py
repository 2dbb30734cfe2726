"""The only code that talks to the outside world: one module per external system."""
