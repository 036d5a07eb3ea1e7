"""Code shared by every litcomp service. It never imports a service."""
