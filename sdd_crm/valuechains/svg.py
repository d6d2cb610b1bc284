"""Server-side SVG of one value chain's network: no CDN, no script needed to see it.

Stages are columns from left to right (a crowded stage wraps into sub-columns); organisations
are circles coloured by role, with the role's code inside (colour is never the only cue,
WCAG 1.4.1), sized by employment; critical ones carry a dark ring; sole-source links are thick,
dashed and red. Every node is a link to its organisation (and, on focus, to its what-if view)
whose full name shows on hover and on keyboard focus; every link has a ``<title>``; the whole
picture has an accessible name; the table under it gives the same information. In the what-if
view the leaving organisation, the organisations it hits and the links it takes away are marked
by shape and pattern, not by colour alone.

Only SVG presentation attributes are used (the Content-Security-Policy forbids ``style=``).
"""

from __future__ import annotations

import math

from flask_babel import get_translations
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
LABEL_CHARS, STAGE_CHARS, FULL_CHARS = 24, 28, 22  # FULL_CHARS: the focus box stays in its column
MARK_COLOUR = "#1a1a1a"


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


class Words:
    """The picture's words, translated through one catalogue lookup per picture: flask-babel's
    ``gettext`` finds the request's locale and catalogue again on every call, which for 100 nodes
    and a few hundred links cost more time than drawing them. Same msgids, same results."""

    def __init__(self) -> None:
        self._catalogue = get_translations()
        self._roles: dict[str | None, str] = {}

    def gettext(self, msgid: str, **variables) -> str:
        text = self._catalogue.ugettext(msgid)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, num: int, **variables) -> str:
        variables.setdefault("num", num)
        return self._catalogue.ungettext(singular, plural, num) % variables

    def role(self, role: str | None) -> str:
        if role not in self._roles:
            self._roles[role] = role_label(role)
        return self._roles[role]


def node_title(node: NetworkNode, words: Words | None = None) -> str:
    w = words or Words()
    no_stage = w.gettext("geen fase")
    parts = [node.name, ", ".join(
        f"{w.role(role)} ({stage.name if stage else no_stage})" for stage, role in node.roles
    ) or w.role(None)]
    if node.employees is not None:
        parts.append(w.ngettext("%(num)d werkzame persoon", "%(num)d werkzame personen", node.employees))
    if node.is_critical:
        parts.append(w.gettext("kritisch"))
    if node.sole_source_for:
        parts.append(w.ngettext("enige leverancier voor %(num)d afnemer",
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


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken between words (a word longer
    than a line is cut); the full name on focus stays inside its column."""
    lines: list[str] = []
    for word in text.split():
        while len(word) > width:
            if lines and not lines[-1]:
                lines.pop()
            lines.append(word[:width])
            word = word[width:]
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [text]


MARKS = ("leaving", "affected")  # the what-if view: who leaves, who is hit


def _mark_text(mark: str | None, w: Words) -> str:
    if mark == "leaving":
        return w.gettext("valt weg in dit scenario")
    if mark == "affected":
        return w.gettext("getroffen: verliest de enige leverancier of raakt los van de keten")
    return ""


def render_network_svg(network: ChainNetwork, *, element_id: str, org_url, what_if_url=None,
                       marks: dict[int, str] | None = None,
                       cut_from: int | None = None) -> Markup:
    """The chain's network as an ``<svg role="group">`` named by its own title and description.

    Every node is a link to the organisation (``org_url``), with its full name shown on hover
    and keyboard focus, and, when ``what_if_url`` is given, a second link to its what-if view
    that appears with the focus. ``marks``: organisation id → ``"leaving"`` or ``"affected"``
    (drawn with an outline and a hatched halo, not by colour alone); ``cut_from``: the leaving
    organisation, whose supply links are drawn dotted as lost.
    """
    marks = marks or {}
    words = Words()
    _, ngettext = words.gettext, words.ngettext  # the same msgids, through one catalogue lookup
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
        _("Elke organisatie is een link naar haar pagina."),
        _("De tabel onder de afbeelding geeft dezelfde informatie."),
    ])
    e = escape
    out = [
        # A group, not an image: an image's content is presentational, and this one holds links.
        f'<svg xmlns="http://www.w3.org/2000/svg" class="vc-network" id="{e(element_id)}" '
        f'role="group" aria-labelledby="{e(element_id)}-title" aria-describedby="{e(element_id)}-desc" '
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
        f'<pattern id="{e(element_id)}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{MARK_COLOUR}" stroke-width="3"/></pattern>',
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

    def is_cut(edge) -> bool:
        return cut_from is not None and edge.supplier_id == cut_from

    # sole-source on top, the links lost in a what-if on top of those
    ordered_edges = sorted(network.edges, key=lambda edge: (is_cut(edge), edge.sole_source))
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
        if is_cut(edge):
            kind += " vc-link--cut"
            text += " — " + _("valt weg in dit scenario")
            # dotted and thick: lost links differ in shape from the dashed sole-source ones
            attrs = (f'stroke="{MARK_COLOUR}" stroke-width="4" stroke-dasharray="1 6" '
                     f'stroke-linecap="round" marker-end="url(#{e(element_id)}-arrow-sole)"')
        out.append(f'<path class="{kind}" data-supplier="{s}" data-customer="{c}" d="{path}" '
                   f'fill="none" {attrs}><title>{e(text)}</title></path>')
    out.append("</g>")

    what_if_label = _("Wat als?")
    out.append('<g class="vc-nodes">')
    for node in network.nodes:
        x, y = positions[node.id]
        r = radius[node.id]
        mark = marks.get(node.id)
        kind = "vc-node vc-node--critical" if node.is_critical else "vc-node"
        if mark in MARKS:
            kind += f" vc-node--{mark}"
        full = node_title(node, words)
        if mark in MARKS:
            full += " — " + _mark_text(mark, words)
        href = org_url(node.id)
        out.append(f'<g class="{kind}" data-org-id="{node.id}" data-role="{e(node.role or "")}" '
                   f'data-critical="{"true" if node.is_critical else "false"}" '
                   f'data-mark="{e(mark or "")}" transform="translate({_f(x)} {_f(y)})">')
        out.append(f'<a class="vc-node__link" href="{e(href)}" aria-label="{e(full)}">')
        out.append(f"<title>{e(full)}</title>")
        halo = r + RING_GAP + (8 if node.is_critical else 4)
        if mark == "affected":
            out.append(f'<circle class="vc-node__mark" r="{_f(halo)}" fill="url(#{e(element_id)}-hatch)" '
                       f'stroke="{MARK_COLOUR}" stroke-width="2.5" stroke-dasharray="5 3"/>')
        elif mark == "leaving":
            out.append(f'<rect class="vc-node__mark" x="{_f(-halo)}" y="{_f(-halo)}" width="{_f(2 * halo)}" '
                       f'height="{_f(2 * halo)}" fill="#ffffff" stroke="{INK}" stroke-width="3" '
                       f'stroke-dasharray="6 3"/>')
        out.append(f'<circle class="vc-node__focus" r="{_f(halo + 3)}" fill="none" stroke="{INK}" '
                   f'stroke-width="3"/>')
        if node.is_critical:
            out.append(f'<circle class="vc-node__ring" r="{_f(r + RING_GAP)}" fill="none" '
                       f'stroke="{INK}" stroke-width="3"/>')
        out.append(f'<circle class="vc-node__dot" r="{_f(r)}" fill="{role_colour(node.role)}" '
                   f'stroke="{INK if node.role not in ROLE_COLOURS else "#ffffff"}" stroke-width="1.5"/>')
        out.append(f'<text class="vc-node__code" text-anchor="middle" dy="0.35em" font-size="12" '
                   f'pointer-events="none" font-weight="700" fill="{code_ink(node.role)}">'
                   f'{e(role_code(node.role))}</text>')
        label_x = r + RING_GAP + 6
        out.append(f'<text class="vc-node__label" x="{_f(label_x)}" dy="0.35em" font-size="12" '
                   f'fill="{INK}" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" '
                   f'paint-order="stroke">{e(_short(node.name, LABEL_CHARS))}</text>')
        # The full name, shown instead of the short label on hover and focus (app.css): a
        # <title> alone never shows on keyboard focus.
        lines = _wrap(node.name, FULL_CHARS)
        box_w = max(len(line) for line in lines) * 7.2 + 10
        box_h = len(lines) * 16 + 6
        out.append(f'<g class="vc-node__full" aria-hidden="true">'
                   f'<rect x="{_f(label_x - 4)}" y="{_f(-11)}" width="{_f(box_w)}" height="{_f(box_h)}" '
                   f'rx="3" fill="#ffffff" stroke="{INK}" stroke-width="1.5"/>'
                   f'<text x="{_f(label_x + 2)}" y="0" font-size="12" font-weight="700" fill="{INK}">')
        for i, line in enumerate(lines):
            out.append(f'<tspan x="{_f(label_x + 2)}" dy="{"0.35em" if i == 0 else "16"}">{e(line)}</tspan>')
        out.append("</text></g>")
        out.append("</a>")
        if what_if_url is not None:
            wy = -11 + box_h + 3  # just under the full name
            label = what_if_label
            out.append(f'<a class="vc-node__whatif" href="{e(what_if_url(node.id))}" '
                       f'aria-label="{e(_("Wat als %(name)s wegvalt?", name=node.name))}">'
                       f'<rect x="{_f(label_x - 4)}" y="{_f(wy)}" width="{_f(len(label) * 7 + 14)}" height="20" '
                       f'rx="10" fill="#ffffff" stroke="{INK}" stroke-width="1.5"/>'
                       f'<text x="{_f(label_x + 3)}" y="{_f(wy + 14)}" font-size="12" fill="{INK}" '
                       f'text-decoration="underline">{e(label)}</text></a>')
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
    elif kind == "affected":
        body = ('<defs><pattern id="vc-swatch-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
                'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
                f'<line x1="0" y1="0" x2="0" y2="6" stroke="{MARK_COLOUR}" stroke-width="3"/></pattern></defs>'
                f'<circle cx="22" cy="12" r="11" fill="url(#vc-swatch-hatch)" stroke="{MARK_COLOUR}" '
                'stroke-width="2" stroke-dasharray="5 3"/><circle cx="22" cy="12" r="5" fill="#4a4a4a"/>')
    elif kind == "leaving":
        body = (f'<rect x="11" y="1" width="22" height="22" fill="#ffffff" stroke="{INK}" stroke-width="3" '
                'stroke-dasharray="6 3"/><circle cx="22" cy="12" r="6" fill="#4a4a4a"/>')
    elif kind == "cut":
        body = (f'<line x1="3" y1="12" x2="41" y2="12" stroke="{MARK_COLOUR}" stroke-width="4" '
                'stroke-dasharray="1 6" stroke-linecap="round"/>')
    elif kind == "sole":
        body = (f'<line x1="2" y1="12" x2="42" y2="12" stroke="{SOLE_COLOUR}" stroke-width="3.5" '
                f'stroke-dasharray="9 5"/>')
    else:
        body = f'<line x1="2" y1="12" x2="42" y2="12" stroke="{LINK_COLOUR}" stroke-width="1.5"/>'
    return Markup(head + body + "</svg>")
