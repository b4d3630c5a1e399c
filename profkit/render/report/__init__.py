"""The HTML report's parts, one module per job; :mod:`profkit.render.html` assembles them.

- ``jinja``: the jinja2 environment, its filters and the inlined CSS/JS;
- ``filters``: formatting of numbers, bytes and paths (the template filters);
- ``compact``: the string table and column-oriented JSON of long tables;
- ``tables``: a run's frames with their schema columns, as row dicts;
- ``summary``: mode order, recommendation, failures, rounds, GC, overheads;
- ``figures`` and ``timeline``: the charts and the per-worker timelines;
- ``memory``, ``items``, ``functions``, ``hot_code``: those sections;
- ``about``: when, environment, options and artifacts.
"""
