"""Gatehouse library code.

Layers, outermost first (dependencies point one way, checked by import-linter):

    web, workflows, cli  ->  services  ->  core
    storage, outbound    ->  core          (adapters that satisfy core.ports)
    container            wires adapters into services (the only place that knows both)
"""
