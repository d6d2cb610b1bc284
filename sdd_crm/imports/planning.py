"""The per-organisation part of the import plan: compare one group of rows with what is stored
and note what to create, update or hold for review (rules in upsert.py's docstring)."""

from __future__ import annotations

import decimal

from ..organisations.services import CRITICALITY_INPUTS
from .upsert import ADDRESS, EST_FIELDS, ORG_FIELDS, Group, Plan, new_size_class, row_hash

UPDATE_COLUMNS = ("name", "org_type", "legal_form", "employees", "annual_turnover_eur",
                  "balance_sheet_total_eur", "size_class", "website", "phone", "email",
                  "description", "parent_id", *ADDRESS)


def differences(incoming: dict, current: dict, fields) -> dict:
    """{field: [stored, new]} for the given fields whose new value differs (absent = keep)."""
    return {k: [current.get(k), incoming[k]] for k in fields
            if k in incoming and incoming[k] != current.get(k)}


def sbi_label(code: tuple[str, str]) -> str:
    return f"{code[0]} ({code[1]})"


def plan_group(group: Group, stored: dict, plan: Plan, file_by_name: dict) -> None:
    if group.kvk:
        existing = stored["by_kvk"].get(group.kvk)
        if existing is None:
            _create(group, plan)
        else:
            _update(group, existing, stored, plan)
        return
    name_key = group.key[1:]
    candidate = stored["by_name"].get(name_key)
    if candidate is not None:
        current, ref = candidate, candidate["id"]
        current_sbi = {(s["code"], s["version"]) for s in stored["sbi"].get(ref, [])}
    elif name_key in file_by_name:
        other = file_by_name[name_key]
        current, current_sbi, ref = other.org, set(other.sbi), other.key
    else:
        _create(group, plan)
        return
    changed = differences(group.org, current, ORG_FIELDS + ADDRESS)
    changed.pop("name", None)  # the names match (that is how it was found): "BV" or "B.V."
    if not changed and set(group.sbi) <= current_sbi and _came_from_a_row_like_this(candidate):
        plan.unchanged += 1  # the same file again: this row created that organisation
        return
    data = review_data(group)
    digest = row_hash(data)
    status = plan.review_status.get((ref, digest)) if isinstance(ref, int) else None
    if status is not None and status != "pending":
        plan.unchanged += 1  # already reviewed: merged or created by someone
        return
    plan.held += 1
    if status is None:
        plan.reviews.append({"candidate": ref, "row_number": group.first_row, "row_hash": digest,
                             "data": data})


def _came_from_a_row_like_this(candidate: dict | None) -> bool:
    """Whether a name-and-postcode match is (most likely) the organisation an earlier import of a
    row without a KvK number created: it has no KvK number itself and was made by an import.
    Then the same row again is "unchanged". Any other match is held for review (issue 6, point
    3), even when the row adds nothing: only a person can tell whether it is the same company.
    (``candidate`` is None when the match is a row with a KvK number in the same file: then it
    is held as well, so that a first and a second run of the file say the same.)"""
    if candidate is None:
        return False  # a row of this file with a KvK number: held too, as on a second run
    return not candidate.get("kvk_number") and (candidate.get("source") or "").startswith("import:")


def review_data(group: Group) -> dict:
    """The held row as input for the organisation services (review.py applies it)."""
    data = {}
    for key in ORG_FIELDS + ADDRESS:
        if key not in group.org:
            continue
        value = group.org[key]
        if key == "municipality_code":
            if value:
                data["municipality"] = value
            continue
        data[key] = str(value) if isinstance(value, decimal.Decimal) else value
    if group.sbi:
        data["sbi_codes"] = [{"code": c, "version": v} for c, v in group.sbi]
    return data


def _create(group: Group, plan: Plan) -> None:
    plan.created.append(group)
    plan.criticality_changed = True
    for i, (code, version) in enumerate(group.sbi):
        plan.sbi_inserts.append({"org": group.key, "code": code, "version": version,
                                 "is_main": i == 0})
    for number, values in group.ests.items():
        plan.est_inserts.append({"org": group.key, "establishment_number": number,
                                 "is_main": number == group.main_in_file,
                                 **{k: values.get(k) for k in EST_FIELDS}})


def _update(group: Group, existing: dict, stored: dict, plan: Plan) -> None:
    org_id = existing["id"]
    changes = differences(group.org, existing, ORG_FIELDS + ADDRESS)
    if org_id in plan.revive and existing["deleted_at"] is not None:
        changes["deleted_at"] = [existing["deleted_at"], None]  # undone before: back again
        plan.criticality_changed = True
    if group.parent_ref is not None and group.parent_ref != existing["parent_id"]:
        changes["parent_id"] = [existing["parent_id"], group.parent_ref]
    sbi_changed = _plan_sbi(group, org_id, stored["sbi"].get(org_id, []), plan)
    if sbi_changed:
        changes["sbi_codes"] = sbi_changed
    est_changed = _plan_establishments(group, org_id, existing, stored, changes, plan)
    if not changes and not est_changed:
        plan.unchanged += 1
        return
    plan.updated_ids.add(org_id)
    if any(k in changes for k in CRITICALITY_INPUTS):
        plan.criticality_changed = True
    if not changes:
        return  # only establishments changed: they have their own rows and audit events
    values = {k: existing[k] for k in UPDATE_COLUMNS}
    values.update({k: v[1] for k, v in changes.items() if k in UPDATE_COLUMNS})
    if "deleted_at" in changes:
        values["deleted_at"] = None
    values["size_class"] = new_size_class(values)
    if values["size_class"] != existing["size_class"]:
        changes["size_class"] = [existing["size_class"], values["size_class"]]
    plan.updates.append({"id": org_id, "version": existing["version"], "values": values,
                         "changes": changes})


def _plan_sbi(group: Group, org_id: int, rows: list[dict], plan: Plan) -> list | None:
    """New codes are added, none removed (an empty cell never erases); the file's main code
    becomes the main code of its SBI version. Returns [before, after] labels, or None."""
    if not group.sbi:
        return None
    current = {(r["code"], r["version"]): r["is_main"] for r in rows}
    wanted = dict(current)
    main = group.sbi[0] if (group.sbi_main_given or not any(current.values())) else None
    for code in group.sbi:
        if code not in wanted:
            wanted[code] = False
    if main is not None:
        for code in wanted:
            if code[1] == main[1]:
                wanted[code] = code == main
    if wanted == current:
        return None
    plan.sbi_before[org_id] = [[c, v, m] for (c, v), m in sorted(current.items())]
    for code, is_main in wanted.items():
        if code not in current:
            plan.sbi_inserts.append({"org": org_id, "code": code[0], "version": code[1],
                                     "is_main": is_main})
        elif current[code] != is_main:
            plan.sbi_main.append({"organisation_id": org_id, "code": code[0],
                                  "version": code[1], "is_main": is_main})

    def labels(flags):
        return [sbi_label(c) for c in sorted(flags, key=lambda c: (not flags[c], c))]

    return [labels(current), labels(wanted)]


def _plan_establishments(group: Group, org_id: int, existing: dict, stored: dict,
                         org_changes: dict, plan: Plan) -> bool:
    own = [e for e in stored["est_by_org"].get(org_id, [])]
    by_number = {e["establishment_number"]: e for e in own if e["establishment_number"]}
    stored_main = next((e for e in own if e["is_main"] and e["deleted_at"] is None), None)
    main_number = group.main_in_file or (stored_main or {}).get("establishment_number")
    changed = False
    for number, values in group.ests.items():
        want = {**values, "is_main": number == main_number}
        est = by_number.get(number)
        if est is None:
            plan.est_inserts.append({"org": org_id, "establishment_number": number,
                                     **{k: values.get(k) for k in EST_FIELDS},
                                     "is_main": want["is_main"]})
            changed = True
            continue
        est_changes = differences(want, est, EST_FIELDS + ("is_main",))
        if est["deleted_at"] is not None:
            est_changes["deleted_at"] = [est["deleted_at"].isoformat(), None]
        if est_changes:
            _est_update(plan, est, est_changes, org_id)
            changed = True
    if stored_main is not None:
        if group.main_in_file and stored_main["establishment_number"] != group.main_in_file:
            _est_update(plan, stored_main, {"is_main": [True, False]}, org_id)
            changed = True
        elif stored_main["establishment_number"] not in group.ests:
            # The main establishment mirrors the organisation's address (as the services keep it).
            copy = differences({k: org_changes[k][1] for k in ADDRESS if k in org_changes},
                               stored_main, ADDRESS)
            if copy:
                _est_update(plan, stored_main, copy, org_id)
    return changed


def _est_update(plan: Plan, est: dict, changes: dict, org_id: int) -> None:
    values = {k: est[k] for k in EST_FIELDS + ("is_main", "deleted_at")}
    values.update({k: v[1] for k, v in changes.items()})
    update = plan.est_update_by_id.get(est["id"])
    if update is not None:  # a second change to the same establishment
        update["values"].update({k: v[1] for k, v in changes.items()})
        update["changes"].update(changes)
        return
    update = {"id": est["id"], "version": est["version"], "values": values, "changes": changes,
              "org": org_id}
    plan.est_updates.append(update)
    plan.est_update_by_id[est["id"]] = update
