"""The config flow's steps, one module for each thing they configure."""
