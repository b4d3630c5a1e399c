"""Executors: one module per way of running the map, each declaring its traits.

``registry`` maps mode names to executor classes; nothing outside this
package compares a mode's name.
"""
