"""Example shapes: what enrichment writes for a task (single, reasoning, multi_turn, tool_calls).

Exploration is the same for every shape: the tree's tasks are what users want done. The shape decides the form of
each example (base.py); dispatch.py sends a batch to the generator of its shape. Kept light on purpose: the run
parameters (tools/params.py) import from here, so nothing heavy is imported at package level.
"""
