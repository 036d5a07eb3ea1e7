"""litcomp: an open platform for literary competitions."""

from importlib.metadata import version

__version__ = version("litcomp")
