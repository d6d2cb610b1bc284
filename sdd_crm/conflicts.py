"""Edit conflicts, field by field (issue 11.3): what changed between the version a user opened and
the stored one, and the user's choice per field.

Every versioned edit form carries the version it was loaded with. When a save hits a newer
version the service refuses it (``exceptions.check_version`` → ``ConflictError``) and the form
comes back with 409 (``errors.conflict_response``). This module makes that page useful:

* **What the user opened**: the form's macro (``templates/_macros/conflicts.html``) puts a
  snapshot of the form's values into the hidden field ``_conflict_base`` when the form is shown.
  Values are kept as the browser posts them (a list of strings per field), so "did I change
  this?" compares like with like, whatever the field (amounts with a comma, dates, choices).
* **What is stored now**: the form as the view builds it from the current record (the
  ``current`` callable given to :func:`sdd_crm.forms.form_page`, else the record's attributes).
* **Who changed it, when**: the audit events of the record with ``record_version`` above the
  version the user opened. Without a snapshot (a hand-made POST) the events' "before" values
  stand in for what the user opened.

Per field the page shows the value when opened, the other person's value now (who, when) and the
user's own value, with "Mijn waarde houden" / "Hun waarde nemen". Fields only the other changed
start on theirs, fields both changed on mine (marked). The stored values travel in the hidden
field ``_conflict_theirs``; on the next POST :func:`apply_choices` (a ``before_request`` hook)
puts the chosen ones into the submitted form data before the view reads it, so the save goes
through the view and the service like any other. The form carries the current version, so that
save succeeds unless someone changed the record yet again (then the same page comes back).

Ground floor: no feature imports (the user's name is read from the ``user`` table directly).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dc_field

import sqlalchemy as sa
from flask import current_app, g, request
from flask_babel import gettext as _
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from wtforms import (
    BooleanField,
    FieldList,
    FileField,
    FormField,
    HiddenField,
    MultipleFileField,
    PasswordField,
    SelectFieldBase,
    SelectMultipleField,
    SubmitField,
)

from .audit.models import AuditEvent
from .extensions import db
from .i18n import format_day

BASE = "_conflict_base"
THEIRS = "_conflict_theirs"
PICK = "_conflict_pick-"
RESOLVE = "_conflict_resolve"
MINE, THEIRS_CHOICE = "mine", "theirs"
MAX_JSON = 2_000_000  # characters of one hidden field; the form parser limits the body anyway

_USER = sa.table("user", sa.column("id"), sa.column("name"))
_SKIPPED = (HiddenField, PasswordField, FileField, MultipleFileField, SubmitField)


@dataclass
class Change:
    """One audited change of the record after the version the user opened."""

    who: str
    at: dt.datetime | None
    keys: set[str]


@dataclass
class FieldConflict:
    name: str  # the field's name in the form data
    label: str
    base: str  # the values as a person reads them
    theirs: str
    mine: str
    both: bool  # changed by both: needs a choice (starts on "mine")
    pick: str  # MINE or THEIRS_CHOICE, preselected
    who: str | None = None
    at: dt.datetime | None = None
    theirs_data: list | dict = dc_field(default_factory=list)

    @property
    def dom_id(self) -> str:
        return "conflict-" + "".join(c if c.isalnum() else "-" for c in self.name)


@dataclass
class Conflict:
    """What a 409 edit page shows: the fields changed in between, the changes, and the stored
    values of every compared field (the next snapshot, matching the version the form now has)."""

    fields: list[FieldConflict]
    changes: list[Change]
    current: dict
    version: int | None

    @property
    def theirs_json(self) -> str:
        return json.dumps({f.name: f.theirs_data for f in self.fields}, ensure_ascii=False)

    @property
    def current_json(self) -> str:
        return json.dumps(self.current, ensure_ascii=False)

    @property
    def needs_choice(self) -> bool:
        return any(f.both for f in self.fields)

    @property
    def people(self) -> list[Change]:
        """The changes in between, one line per person (their last change)."""
        last: dict[str, Change] = {}
        for change in self.changes:
            last[change.who] = change
        return list(last.values())


# --- Form values as the browser posts them ------------------------------------------------------

def _compared(form):
    """The fields a person edits: no CSRF token, version, password, file or button."""
    for f in form:
        if isinstance(f, _SKIPPED) or f.type == "CSRFTokenField":
            continue
        yield f


def _subfields(f):
    if isinstance(f, FieldList):
        yield from f.entries
    elif isinstance(f, FormField):
        yield from f


def formdata(f) -> list[str] | dict | None:
    """A field's value as the browser would post it: a list of strings, or for a list of rows
    (``FieldList``/``FormField``) a dict of every sub-field's name → list of strings."""
    if isinstance(f, (FieldList, FormField)):
        out: dict = {}
        for sub in _subfields(f):
            if sub.type == "CSRFTokenField":
                continue
            value = formdata(sub)
            if isinstance(value, dict):
                out.update(value)
            elif value is not None:
                out[sub.name] = value
        return out
    if isinstance(f, (PasswordField, FileField, MultipleFileField, SubmitField)):
        return None
    if isinstance(f, BooleanField):
        return ["y"] if f.data else []
    if isinstance(f, SelectMultipleField):
        return [str(v) for v in (f.data or [])]
    if isinstance(f, SelectFieldBase):
        return [] if f.data is None else [_text(f.data)]
    try:
        value = f._value()
    except Exception:  # noqa: BLE001 - a field whose data does not fit its type: show it as text
        value = f.data
    return ["" if value is None else _text(value)]


def _text(value) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _posted(f, data) -> list[str] | dict:
    if isinstance(f, (FieldList, FormField)):
        prefix = f.name + "-"
        return {k: data.getlist(k) for k in data if k.startswith(prefix)}
    return data.getlist(f.name)


def _norm_list(f, values) -> tuple:
    if isinstance(f, BooleanField):
        false_values = getattr(f, "false_values", (False, "false", ""))
        return ("y",) if any(v not in false_values for v in values) else ()
    cleaned = (str(v).replace("\r\n", "\n").replace("\r", "\n").strip() for v in values)
    return tuple(sorted(v for v in cleaned if v != ""))


def _norm(f, value) -> tuple:
    if isinstance(value, dict):
        return _norm_rows(f, value)
    return _norm_list(f, value or [])


def _prototypes(f) -> dict:
    """Sub-field suffix (``kind`` of ``targets-0-kind``) → a sub-field, for labels and types."""
    entries = list(_subfields(f))
    protos = {}
    for entry in entries[:1] if isinstance(f, FieldList) else [f]:
        for sub in (_subfields(entry) if isinstance(entry, (FormField, FieldList)) else [entry]):
            protos[_suffix(sub.name, entry.name)] = sub
    return protos


def _split(f, value: dict) -> dict[str, dict[str, list]]:
    """``{"targets-0-kind": [...], ...}`` → ``{"0": {"kind": [...]}, ...}`` (one row for a
    ``FormField``)."""
    rows: dict[str, dict[str, list]] = {}
    prefix = f.name + "-"
    for key in sorted(value, key=_natural):
        if key.startswith(prefix) and isinstance(value[key], list):
            rest = key[len(prefix):]
            row, _sep, suffix = rest.partition("-") if isinstance(f, FieldList) else ("", "", rest)
            rows.setdefault(row, {})[suffix] = value[key]
    return rows


def _typed(protos: dict, row: dict) -> bool:
    """A row someone filled in: a text sub-field has a value (a blank row keeps its defaults)."""
    return any(not isinstance(protos.get(suffix), (SelectFieldBase, BooleanField))
               and _norm_list(None, values) for suffix, values in row.items())


def _norm_rows(f, value: dict) -> tuple:
    protos = _prototypes(f)
    rows = [tuple(sorted((suffix, _norm_list(protos.get(suffix), v)) for suffix, v in row.items()))
            for row in _split(f, value).values() if _typed(protos, row)]
    return tuple(sorted(rows))


# --- Values as a person reads them --------------------------------------------------------------

def _choice_labels(f) -> dict[str, str]:
    try:
        choices = f._choices_from_input(f.choices) or []
        return {str(c.value): str(c.label) for c in choices}
    except Exception:  # noqa: BLE001 - older WTForms or unusual choices
        try:
            return {str(c[0]): str(c[1]) for c in f.iter_choices()}
        except Exception:  # noqa: BLE001
            return {}


def _input_type(f) -> str | None:
    return (f.render_kw or {}).get("type") or getattr(f.widget, "input_type", None)


def _one(f, value: str) -> str:
    if value == "":
        return ""
    kind = _input_type(f)
    try:
        if kind == "date" or f.type == "DateField":
            return format_day(dt.date.fromisoformat(value[:10]))
        if kind == "datetime-local" or f.type in ("DateTimeLocalField", "DateTimeField"):
            moment = dt.datetime.fromisoformat(value)  # as typed: local time, no zone
            return f"{format_day(moment.date())} {moment:%H:%M}"
    except ValueError:
        pass
    return value


def display(f, value) -> str:
    """A form value (as posted) as a person reads it: choice labels, Ja/Nee, dates."""
    empty = _("(leeg)")
    if value is None:
        return empty
    if isinstance(value, dict):
        return _display_rows(f, value) or empty
    if isinstance(f, BooleanField):
        return _("Ja") if _norm_list(f, value) else _("Nee")
    values = [v for v in (str(x).strip() for x in value) if v != ""]
    if not values:
        return empty
    if isinstance(f, SelectFieldBase):
        labels = _choice_labels(f)
        return ", ".join(labels.get(v, v) for v in values)
    return ", ".join(_one(f, v) for v in values)


def _display_rows(f, value: dict) -> str:
    """Rows of a list of sub-forms (targets, say): "label: value · …; …" per filled-in row."""
    protos = _prototypes(f)
    shown = []
    for row in _split(f, value).values():
        if not _typed(protos, row):
            continue
        parts = []
        for suffix, values in row.items():
            proto = protos.get(suffix)
            if not _norm_list(proto, values) and not isinstance(proto, BooleanField):
                continue
            label = str(proto.label.text) if proto is not None and proto.label else suffix
            text = display(proto, values) if proto is not None else ", ".join(values)
            parts.append(f"{label}: {text}" if label else text)
        shown.append(" · ".join(parts))
    return "; ".join(shown)


def _suffix(name: str, entry_name: str) -> str:
    return name[len(entry_name) + 1:] if name.startswith(entry_name + "-") else ""


def _natural(key: str):
    return [int(p) if p.isdigit() else p for p in key.split("-")]


# --- The record now, and what happened to it ---------------------------------------------------

@contextmanager
def _as_if_loaded():
    """Build a form from a record during a POST: Flask-WTF would otherwise fill it from the
    submitted data (its ``formdata`` defaults to ``request.form`` when the request is a POST)."""
    method = request.method
    request.method = "GET"
    try:
        yield
    finally:
        request.method = method


_SCALARS = (str, int, float, bool, decimal.Decimal, dt.date, enum.Enum, type(None))


def _current_form(form, record, current: Callable | None):
    with _as_if_loaded():
        if current is not None:
            return current(), None
        # No builder given: the record's own attributes, for fields named after plain columns.
        names = {f.short_name for f in _compared(form)
                 if isinstance(getattr(record, f.short_name, object()), _SCALARS)}
        try:
            built = type(form)(formdata=None, obj=record)
        except TypeError:
            return None, set()
        return built, names


def _entity_id(record) -> str | None:
    state = sa.inspect(record, raiseerr=False)
    if state is None or state.identity is None:
        return None
    return "/".join(str(i) for i in state.identity)


def changes_since(record, version) -> list[Change]:
    """The audited changes of ``record`` after ``version``, oldest first."""
    entity_id, table = _entity_id(record), getattr(record, "__tablename__", None)
    try:
        version = int(version)
    except (TypeError, ValueError):
        return []
    if entity_id is None or table is None:
        return []
    rows = db.session.execute(
        sa.select(AuditEvent.at, AuditEvent.changes, _USER.c.name)
        .outerjoin(_USER, _USER.c.id == AuditEvent.user_id)
        .where(AuditEvent.entity_type == table, AuditEvent.entity_id == entity_id,
               AuditEvent.record_version > version, AuditEvent.result == "success")
        .order_by(AuditEvent.record_version, AuditEvent.id)).all()
    return [Change(who=name or _("het systeem"), at=at, keys=set((changes or {}).keys()))
            for at, changes, name in rows]


def _before_values(record, version) -> dict:
    """Per audited key, its value at ``version``: the 'before' of the first change after it."""
    entity_id, table = _entity_id(record), getattr(record, "__tablename__", None)
    out: dict = {}
    if entity_id is None or table is None:
        return out
    rows = db.session.scalars(
        sa.select(AuditEvent.changes)
        .where(AuditEvent.entity_type == table, AuditEvent.entity_id == entity_id,
               AuditEvent.record_version > int(version), AuditEvent.result == "success")
        .order_by(AuditEvent.record_version, AuditEvent.id)).all()
    for changes in rows:
        for key, pair in (changes or {}).items():
            if key not in out and isinstance(pair, list) and len(pair) == 2:
                out[key] = pair[0]
    return out


def _keys(f, field_map: Mapping[str, str] | None) -> set[str]:
    """The audited keys a form field stands for (``municipality`` → ``municipality_code``)."""
    name = f.short_name
    keys = {name, f"{name}_id", f"{name}_ids", f"{name}_code", name.removesuffix("_id")}
    keys |= {k for k, v in (field_map or {}).items() if v == name}
    return keys


def _as_formdata(f, value) -> list[str]:
    """An audited value (JSON) as the browser would post it, for the fallback without snapshot."""
    if value is None:
        return []
    if isinstance(f, BooleanField):
        return ["y"] if value else []
    if isinstance(value, list):
        texts = [str(v) for v in value]
        return texts if isinstance(f, SelectMultipleField) else [", ".join(texts)]
    if isinstance(value, bool):
        return ["y" if value else ""]
    return [str(value)]


def _posted_base() -> dict | None:
    """The snapshot the form was shown with (``_conflict_base``), if it came with the POST."""
    raw = request.form.get(BASE) if request.method == "POST" else None
    return _json_dict(raw)


def _json_dict(raw) -> dict | None:
    if not raw or len(raw) > MAX_JSON:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    clean = {}
    for key, value in data.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value) or isinstance(value, dict) and all(
                isinstance(v, list) and all(isinstance(x, str) for x in v) for v in value.values()):
            clean[str(key)] = value
    return clean


def detect(form, record, submitted_version, *, current: Callable | None = None,
           field_map: Mapping[str, str] | None = None) -> Conflict:
    """Compare what the user opened (version ``submitted_version``), what they submitted
    (``form`` and the request) and what is stored now (``record``) field by field.

    ``current`` builds the form from the current record as the view's GET does (recommended:
    without it only fields named after plain columns of the record are compared)."""
    theirs_form, only = _current_form(form, record, current)
    changes = changes_since(record, submitted_version)
    base_snapshot = _posted_base()
    befores = _before_values(record, submitted_version) if base_snapshot is None else {}
    fields, current_values = [], {}
    for f in _compared(form):
        theirs_field = theirs_form._fields.get(f.short_name) if theirs_form is not None else None
        if theirs_field is None or (only is not None and f.short_name not in only):
            continue
        theirs = formdata(theirs_field)
        if theirs is None:
            continue
        current_values[f.name] = theirs
        keys = _keys(f, field_map)
        if base_snapshot is not None:
            if f.name not in base_snapshot:
                continue
            base = base_snapshot[f.name]
        else:
            audited = next((k for k in keys if k in befores), None)
            if audited is None or isinstance(theirs, dict):
                continue
            base = _as_formdata(f, befores[audited])
        if type(base) is not type(theirs):
            continue
        mine = _posted(f, request.form)
        if _norm(f, base) == _norm(f, theirs):
            continue  # the other did not change it (or changed it back)
        mine_changed = _norm(f, mine) != _norm(f, base)
        if mine_changed and _norm(f, mine) == _norm(f, theirs):
            continue  # both made the same change
        last = next((c for c in reversed(changes) if c.keys & keys), changes[-1] if changes else None)
        fields.append(FieldConflict(
            name=f.name, label=str(f.label.text) if f.label else f.name,
            base=display(f, base), theirs=display(f, theirs), mine=display(f, mine),
            both=mine_changed, pick=MINE if mine_changed else THEIRS_CHOICE,
            who=last.who if last else None, at=last.at if last else None, theirs_data=theirs))
    return Conflict(fields=fields, changes=changes, current=current_values,
                    version=getattr(record, "version", None))


def stale_record_conflict(*, wait_for_writer: bool = False):
    """The conflict behind a ``StaleDataError``: two saves passed the version check at the same
    moment and the database refused the second one's UPDATE. The checks of this request
    (``exceptions.check_version``) say which record and version; after the rollback the record
    reads its stored version.

    ``wait_for_writer``: SQLite refused the UPDATE as "database is locked" because another
    writer held its one write lock; wait (up to the busy timeout) until that writer is done, so
    a save of the same record shows as the conflict it is, not as a busy database."""
    from .exceptions import ConflictError

    checks = g.get("version_checks", [])
    if wait_for_writer and checks:
        _wait_for_sqlite_writer()
    for record, expected in reversed(checks):
        try:
            version = record.version
        except Exception:  # noqa: BLE001, S112 - gone meanwhile: the plain conflict answer
            continue
        if version != expected:
            return ConflictError(current_version=version, record=record, expected_version=expected)
    return None


def _wait_for_sqlite_writer() -> None:
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")  # waits (busy_timeout) for the other writer's commit
        cursor.execute("ROLLBACK")
    except Exception:  # noqa: BLE001, S110 - still locked: the caller answers "busy"
        pass
    finally:
        raw.close()


def attach(form, record, submitted_version, *, current: Callable | None = None,
           field_map: Mapping[str, str] | None = None) -> Conflict | None:
    """Work out the conflict and keep it on ``form`` for the template macro. Never fails the
    conflict page: anything unexpected is logged and the page shows the plain message."""
    try:
        conflict = detect(form, record, submitted_version, current=current, field_map=field_map)
    except Exception:
        if current_app.testing:
            raise
        current_app.logger.exception("Could not work out the fields of an edit conflict")
        return None
    form._sdd_conflict = conflict
    return conflict


def conflict_of(form) -> Conflict | None:
    return getattr(form, "_sdd_conflict", None)


def base_json(form) -> str:
    """The snapshot for the hidden ``_conflict_base`` field: the stored values after a conflict,
    the snapshot that came with the POST when the form is shown again after a refusal, and the
    form's own values when it is first shown."""
    conflict = conflict_of(form)
    if conflict is not None:
        return conflict.current_json
    version = getattr(form, "version", None)
    if request.method == "POST" and getattr(version, "raw_data", None) is not None:
        posted = _posted_base()
        if posted is not None:
            return json.dumps(posted, ensure_ascii=False)
    values = {}
    for f in _compared(form):
        value = formdata(f)
        if value is not None:
            values[f.name] = value
    return json.dumps(values, ensure_ascii=False)


# --- The user's choices -------------------------------------------------------------------------

def apply_choices() -> None:
    """``before_request``: a POST from a conflict page gets the stored value of every field whose
    choice is "Hun waarde nemen" (or all of them with "Alles van de ander nemen"; none with
    "Alles van mij houden") before the view reads the form."""
    if request.method != "POST" or request.path.startswith("/api/"):
        return
    if request.mimetype != "application/x-www-form-urlencoded":
        return  # edit forms post urlencoded; an upload's body is left to its view
    if THEIRS not in request.form:
        return
    theirs = _json_dict(request.form.get(THEIRS)) or {}
    resolve = request.form.get(RESOLVE, "merge")
    data = MultiDict(request.form)
    for key in [k for k in data if k in (THEIRS, RESOLVE) or k.startswith(PICK)]:
        data.poplist(key)
    for name, values in theirs.items():
        pick = (THEIRS_CHOICE if resolve == "theirs" else MINE if resolve == "mine"
                else request.form.get(PICK + name, MINE))
        if pick != THEIRS_CHOICE:
            continue
        data.poplist(name)
        if isinstance(values, dict):  # a list of rows: replace every row
            for key in [k for k in data if k.startswith(name + "-")]:
                data.poplist(key)
            for key, row_values in values.items():
                data.setlist(key, row_values)
        elif values:
            data.setlist(name, values)
    request.__dict__["form"] = ImmutableMultiDict(data)
    request.__dict__.pop("values", None)


def register(app) -> None:
    app.before_request(apply_choices)
    app.jinja_env.globals.update(edit_conflict=conflict_of, conflict_base_json=base_json)
