"""litcomp: an open platform for literary competitions."""

from importlib.metadata import version

from litcomp import compiled

__version__ = version("litcomp")
compiled.activate()  # before any module it may replace is imported: see litcomp.compiled
