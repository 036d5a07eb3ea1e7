"""litcomp: an open platform for literary competitions."""
