class ClikError(Exception):
    """A failure the user can act on; the command line prints it as one line."""
