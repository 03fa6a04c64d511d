"""The faces' value parsers (on/off flags, lists of counts), defined once in tools/parsing.py so that a value
means the same in a request, a config file and an environment variable."""

from explore_instruct.tools.parsing import FALSE, TRUE, parse_bool, parse_ints

__all__ = ["FALSE", "TRUE", "parse_bool", "parse_ints"]
