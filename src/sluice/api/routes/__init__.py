"""HTTP routers, one per protocol."""
