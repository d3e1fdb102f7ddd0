"""LLM providers: request builders, mapping presets and tool-call and usage accumulation."""
