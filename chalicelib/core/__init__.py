"""Domain core: entities, errors, settings inheritance and the ports services depend on.

Imports only the standard library. Nothing here performs I/O.
"""
