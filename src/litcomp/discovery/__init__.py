"""The discovery service: a registry of live service instances with heartbeats."""
