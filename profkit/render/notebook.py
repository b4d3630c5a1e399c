"""``Run._repr_html_``: a small report inside an iframe ``srcdoc``, isolated from the notebook.

The document has no script and its own CSS, so neither the notebook's styles nor its
JavaScript reach into it, and nothing of it leaks out.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from profkit.record import RunRecord

TEMPLATE = "notebook.html.j2"
TOP_BOTTLENECKS = 5
HEIGHT_PX = 1000


def document(run: RunRecord) -> str:
    """The standalone HTML document shown in the iframe."""
    from profkit.render import html as report
    from profkit.render import user_view
    from profkit.render.report.filters import location
    from profkit.render.report.jinja import environment

    view = user_view(run)
    ctx: dict[str, object] = report.context(view)
    a = view.analysis
    bottlenecks = a.bottlenecks
    mode = a.recommendation.mode if a.recommendation else \
        (bottlenecks[0].mode if bottlenecks else None)
    # (bottleneck, its location) pairs
    ctx["bottlenecks"] = [(b, location(b.filename, b.lineno))
                          for b in bottlenecks if b.mode == mode][:TOP_BOTTLENECKS]
    ctx["report_path"] = str(run.path / "index.html") if run.path else None
    return environment().get_template(TEMPLATE).render(**ctx)


def repr_html(run: RunRecord) -> str:
    """An ``<iframe srcdoc>`` holding :func:`document`, sandboxed (no scripts)."""
    doc = document(run)
    return (f'<iframe class="profkit-report" sandbox="" srcdoc="{html.escape(doc, quote=True)}" '
            f'style="width:100%;height:{HEIGHT_PX}px;border:1px solid #ddd" '
            f'title="profkit report: {html.escape(run.meta.workload.name)}">'
            "</iframe>")
