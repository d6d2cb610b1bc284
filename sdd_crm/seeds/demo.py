"""Demo region (filled in by the demo-seed work)."""


def seed_demo(n_organisations: int = 320) -> dict[str, int]:
    return {}
