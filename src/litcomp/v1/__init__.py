"""Generated from proto/litcomp/v1: do not edit."""
