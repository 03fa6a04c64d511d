"""The operations catalogue: every operation a caller can ask of runs (explore, status, cancel, list_runs, resume,
review, export, stats), defined once with typed arguments and answers (`catalogue.py`, `results.py`). The faces
are generated from it: the LangChain tools (agent/tool.py), the MCP tools (agent/mcp/server.py), the chat's
slash commands (agent/chat/commands.py) and the chat agent's tools (agent/chat/agent.py)."""
