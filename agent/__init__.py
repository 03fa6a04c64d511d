"""Faces toward people and other agents: CLI, chat agent, LangChain tool, MCP."""
