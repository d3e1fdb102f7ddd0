"""Built-in tools an agent node can call."""
