"""Server-side SVG of one value chain's network: no CDN, no script needed to see it.

Stages are columns from left to right (a crowded stage wraps into sub-columns); organisations
are circles coloured by role, with the role's code inside (colour is never the only cue,
WCAG 1.4.1), sized by employment; critical ones carry a dark ring; sole-source links are thick,
dashed and red. Every node and link has a ``<title>`` (the name shows on hover) and the whole
picture has an accessible name; the table under it gives the same information.

Only SVG presentation attributes are used (the Content-Security-Policy forbids ``style=``).
"""

from __future__ import annotations

import math

from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup, escape

from .models import ChainRoleType
from .network import ChainNetwork, NetworkNode, role_label

ROLE_COLOURS = {
    ChainRoleType.OEM: "#0b4f6c",
    ChainRoleType.TIER1: "#2a7f3f",
    ChainRoleType.TIER2: "#a85200",
    ChainRoleType.SERVICE_PROVIDER: "#6a3d9a",
    ChainRoleType.KNOWLEDGE_PARTNER: "#b0006b",
    ChainRoleType.CUSTOMER: "#4a4a4a",
}
ROLE_CODES = {
    ChainRoleType.OEM: "O", ChainRoleType.TIER1: "1", ChainRoleType.TIER2: "2",
    ChainRoleType.SERVICE_PROVIDER: "D", ChainRoleType.KNOWLEDGE_PARTNER: "K",
    ChainRoleType.CUSTOMER: "A",
}
NO_ROLE_COLOUR, NO_ROLE_CODE = "#ffffff", "?"
INK = "#1a1a1a"
LINK_COLOUR, SOLE_COLOUR = "#6b6b6b", "#a4000f"
STAGE_SHADE = "#eef2f5"
FONT = "Noto Sans, Arial, sans-serif"

MARGIN, HEADER, ROW_H, SUB_COL_W, MAX_ROWS = 12, 58, 54, 232, 16
R_MIN, R_MAX, RING_GAP = 10.0, 22.0, 4.0
LABEL_CHARS, STAGE_CHARS = 24, 28


def role_colour(role: str | None) -> str:
    return ROLE_COLOURS.get(role, NO_ROLE_COLOUR)


def role_code(role: str | None) -> str:
    return ROLE_CODES.get(role, NO_ROLE_CODE)


def code_ink(role: str | None) -> str:
    return INK if role not in ROLE_COLOURS else "#ffffff"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def node_radius(employees: int | None, largest: int) -> float:
    """Area grows with employment; unknown employment gets the smallest circle."""
    if not employees or largest <= 0:
        return R_MIN
    return R_MIN + (R_MAX - R_MIN) * math.sqrt(min(employees, largest) / largest)


def node_title(node: NetworkNode) -> str:
    parts = [node.name, ", ".join(
        f"{role_label(role)} ({stage.name if stage else _('geen fase')})" for stage, role in node.roles
    ) or role_label(None)]
    if node.employees is not None:
        parts.append(ngettext("%(num)d werkzame persoon", "%(num)d werkzame personen", node.employees))
    if node.is_critical:
        parts.append(_("kritisch"))
    if node.sole_source_for:
        parts.append(ngettext("enige leverancier voor %(num)d afnemer",
                              "enige leverancier voor %(num)d afnemers", node.sole_source_for))
    return " — ".join(parts)


def _ordered_columns(network: ChainNetwork):
    """Columns with their nodes ordered to cross fewer links: each node moves towards the mean
    row of its partners in the columns to its left (one barycentre sweep, stable on ties)."""
    neighbours: dict[int, list[int]] = {}
    for edge in network.edges:
        neighbours.setdefault(edge.supplier_id, []).append(edge.customer_id)
        neighbours.setdefault(edge.customer_id, []).append(edge.supplier_id)
    row: dict[int, float] = {}
    columns = []
    for stage, nodes in network.columns():
        def centre(item):
            index, node = item
            placed = [row[n] for n in neighbours.get(node.id, []) if n in row]
            return (sum(placed) / len(placed) if placed else index, index)

        ordered = [node for _, node in sorted(enumerate(nodes), key=centre)]
        for index, node in enumerate(ordered):
            row[node.id] = index
        columns.append((stage, ordered))
    return columns


def layout(network: ChainNetwork):
    """Node centres, each node's (stage column, sub-column), the column boxes
    (stage, x, width, count) and the picture's width and height."""
    positions: dict[int, tuple[float, float]] = {}
    slots: dict[int, tuple[int, int]] = {}
    boxes = []
    x = MARGIN
    rows_used = 1
    for stage, nodes in _ordered_columns(network):
        sub_columns = max(1, math.ceil(len(nodes) / MAX_ROWS))
        width = sub_columns * SUB_COL_W
        for i, node in enumerate(nodes):
            col, row = divmod(i, MAX_ROWS)
            positions[node.id] = (x + col * SUB_COL_W + R_MAX + 10, MARGIN + HEADER + row * ROW_H + ROW_H / 2)
            slots[node.id] = (len(boxes), col)
            rows_used = max(rows_used, row + 1)
        boxes.append((stage, x, width, len(nodes)))
        x += width + 8
    return positions, slots, boxes, x - 8 + MARGIN, MARGIN + HEADER + rows_used * ROW_H + MARGIN


def _edge_path(p0, p2, r0: float, r2: float, same_column: bool) -> str:
    (x0, y0), (x2, y2) = p0, p2
    dx, dy = x2 - x0, y2 - y0
    dist = math.hypot(dx, dy) or 1.0
    bend = max(36.0, abs(dy) * 0.35) if same_column else min(28.0, dist * 0.12)
    cx, cy = (x0 + x2) / 2 - dy / dist * bend, (y0 + y2) / 2 + dx / dist * bend

    def towards(ax, ay, bx, by, d):
        length = math.hypot(bx - ax, by - ay) or 1.0
        return ax + (bx - ax) / length * d, ay + (by - ay) / length * d

    sx, sy = towards(x0, y0, cx, cy, r0 + 1)
    ex, ey = towards(x2, y2, cx, cy, r2 + 3)
    return f"M{_f(sx)} {_f(sy)} Q{_f(cx)} {_f(cy)} {_f(ex)} {_f(ey)}"


def render_network_svg(network: ChainNetwork, *, element_id: str, org_url) -> Markup:
    """The chain's network as an ``<svg role="img">`` named by its own title and description."""
    positions, slots, boxes, width, height = layout(network)
    largest = max((n.employees or 0 for n in network.nodes), default=0)
    nodes = {n.id: n for n in network.nodes}
    radius = {n.id: node_radius(n.employees, largest) for n in network.nodes}
    outer = {n.id: radius[n.id] + (RING_GAP + 2 if n.is_critical else 0) for n in network.nodes}
    sole = sum(1 for e in network.edges if e.sole_source)
    title = _("Netwerk van de waardeketen %(name)s", name=network.chain.name)
    desc = " ".join([
        ngettext("%(num)d organisatie", "%(num)d organisaties", len(network.nodes)),
        ngettext("in %(num)d fase,", "in %(num)d fasen,", len(network.stages)),
        ngettext("%(num)d leveringsrelatie", "%(num)d leveringsrelaties", len(network.edges)),
        ngettext("waarvan %(num)d met de enige leverancier.",
                 "waarvan %(num)d met de enige leverancier.", sole),
        _("De tabel onder de afbeelding geeft dezelfde informatie."),
    ])
    e = escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="vc-network" id="{e(element_id)}" '
        f'role="img" aria-labelledby="{e(element_id)}-title {e(element_id)}-desc" '
        f'width="{_f(width)}" height="{_f(height)}" viewBox="0 0 {_f(width)} {_f(height)}" '
        f'font-family="{FONT}">',
        f'<title id="{e(element_id)}-title">{e(title)}</title>',
        f'<desc id="{e(element_id)}-desc">{e(desc)}</desc>',
        "<defs>",
        f'<marker id="{e(element_id)}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        f'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto"><path d="M0 0 L10 5 L0 10 z" '
        f'fill="{LINK_COLOUR}"/></marker>',
        f'<marker id="{e(element_id)}-arrow-sole" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="12" '
        f'markerHeight="12" markerUnits="userSpaceOnUse" orient="auto"><path d="M0 0 L10 5 L0 10 z" '
        f'fill="{SOLE_COLOUR}"/></marker>',
        "</defs>",
        '<g class="vc-stages">',
    ]
    for i, (stage, x, w, count) in enumerate(boxes):
        name = stage.name if stage else _("Zonder fase")
        label = f"{stage.position}. {name}" if stage else name
        out.append(f'<g class="vc-stage" data-stage-id="{stage.id if stage else ""}">')
        out.append(f'<rect x="{_f(x)}" y="{MARGIN}" width="{_f(w)}" height="{_f(height - 2 * MARGIN)}" '
                   f'rx="4" fill="{STAGE_SHADE if i % 2 == 0 else "#ffffff"}" stroke="#c8d1d8"/>')
        shown = _short(label, STAGE_CHARS * max(1, int(w // SUB_COL_W)))
        out.append(f'<text x="{_f(x + 10)}" y="{MARGIN + 22}" font-size="14" font-weight="700" '
                   f'fill="{INK}"><title>{e(label)}</title>{e(shown)}</text>')
        out.append(f'<text x="{_f(x + 10)}" y="{MARGIN + 42}" font-size="12" fill="{INK}">'
                   f'{e(ngettext("%(num)d organisatie", "%(num)d organisaties", count))}</text>')
        out.append("</g>")
    out.append("</g>")

    ordered_edges = sorted(network.edges, key=lambda edge: edge.sole_source)  # sole-source on top
    out.append('<g class="vc-links">')
    for edge in ordered_edges:
        s, c = edge.supplier_id, edge.customer_id
        path = _edge_path(positions[s], positions[c], outer[s], outer[c], slots[s] == slots[c])
        what = f" ({edge.supplied})" if edge.supplied else ""
        if edge.sole_source:
            text = _("%(supplier)s levert aan %(customer)s, enige leverancier", supplier=nodes[s].name,
                     customer=nodes[c].name) + what
            attrs = (f'stroke="{SOLE_COLOUR}" stroke-width="3.5" stroke-dasharray="9 5" '
                     f'marker-end="url(#{e(element_id)}-arrow-sole)"')
        else:
            text = _("%(supplier)s levert aan %(customer)s", supplier=nodes[s].name,
                     customer=nodes[c].name) + what
            attrs = f'stroke="{LINK_COLOUR}" stroke-width="1.5" marker-end="url(#{e(element_id)}-arrow)"'
        kind = "vc-link vc-link--sole" if edge.sole_source else "vc-link"
        out.append(f'<path class="{kind}" data-supplier="{s}" data-customer="{c}" d="{path}" '
                   f'fill="none" {attrs}><title>{e(text)}</title></path>')
    out.append("</g>")

    out.append('<g class="vc-nodes">')
    for node in network.nodes:
        x, y = positions[node.id]
        r = radius[node.id]
        kind = "vc-node vc-node--critical" if node.is_critical else "vc-node"
        out.append(f'<g class="{kind}" data-org-id="{node.id}" data-role="{e(node.role or "")}" '
                   f'data-critical="{"true" if node.is_critical else "false"}" '
                   f'data-href="{e(org_url(node.id))}" transform="translate({_f(x)} {_f(y)})">')
        out.append(f"<title>{e(node_title(node))}</title>")
        if node.is_critical:
            out.append(f'<circle class="vc-node__ring" r="{_f(r + RING_GAP)}" fill="none" '
                       f'stroke="{INK}" stroke-width="3"/>')
        out.append(f'<circle class="vc-node__dot" r="{_f(r)}" fill="{role_colour(node.role)}" '
                   f'stroke="{INK if node.role not in ROLE_COLOURS else "#ffffff"}" stroke-width="1.5"/>')
        out.append(f'<text class="vc-node__code" text-anchor="middle" dy="0.35em" font-size="12" '
                   f'pointer-events="none" font-weight="700" fill="{code_ink(node.role)}">'
                   f'{e(role_code(node.role))}</text>')
        out.append(f'<text class="vc-node__label" x="{_f(r + RING_GAP + 6)}" dy="0.35em" font-size="12" '
                   f'fill="{INK}" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" '
                   f'paint-order="stroke">{e(_short(node.name, LABEL_CHARS))}</text>')
        out.append("</g>")
    out.append("</g></svg>")
    return Markup("\n".join(out))


def legend_swatch(kind: str, role: str | None = None) -> Markup:
    """A small decorative SVG for the HTML legend (the text next to it carries the meaning)."""
    head = ('<svg class="vc-swatch" aria-hidden="true" focusable="false" width="44" height="24" '
            'viewBox="0 0 44 24">')
    if kind == "role":
        body = (f'<circle cx="22" cy="12" r="10" fill="{role_colour(role)}" stroke="'
                f'{INK if role not in ROLE_COLOURS else "#ffffff"}" stroke-width="1.5"/>'
                f'<text x="22" y="12" dy="0.35em" text-anchor="middle" font-size="11" font-weight="700" '
                f'font-family="{FONT}" fill="{code_ink(role)}">{escape(role_code(role))}</text>')
    elif kind == "critical":
        body = (f'<circle cx="22" cy="12" r="10" fill="none" stroke="{INK}" stroke-width="3"/>'
                f'<circle cx="22" cy="12" r="6" fill="#4a4a4a"/>')
    elif kind == "size":
        body = ('<circle cx="8" cy="12" r="4" fill="#4a4a4a"/>'
                '<circle cx="30" cy="12" r="10" fill="#4a4a4a"/>')
    elif kind == "sole":
        body = (f'<line x1="2" y1="12" x2="42" y2="12" stroke="{SOLE_COLOUR}" stroke-width="3.5" '
                f'stroke-dasharray="9 5"/>')
    else:
        body = f'<line x1="2" y1="12" x2="42" y2="12" stroke="{LINK_COLOUR}" stroke-width="1.5"/>'
    return Markup(head + body + "</svg>")
