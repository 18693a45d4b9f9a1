"""How recipes split an integer budget: evenly over languages, or by shares."""

from __future__ import annotations

from collections.abc import Sequence


def split_counts(n: int, keys: Sequence[str]) -> dict[str, int]:
    """Spread n over keys as evenly as possible; earlier keys take the remainder (40 over 4 = 10 each)."""
    base, extra = divmod(n, len(keys))
    return {key: base + (1 if i < extra else 0) for i, key in enumerate(keys)}


def apportion(n: int, shares: dict[str, float]) -> dict[str, int]:
    """Split n by shares (largest remainder; ties go to the key listed first); the counts sum to n."""
    total = sum(shares.values())
    exact = {key: n * share / total for key, share in shares.items()}
    counts = {key: int(value) for key, value in exact.items()}
    order = sorted(shares, key=lambda key: -(exact[key] - counts[key]))  # stable: listing order breaks ties
    for key in order[: n - sum(counts.values())]:
        counts[key] += 1
    return counts
