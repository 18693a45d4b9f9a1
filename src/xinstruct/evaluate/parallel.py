"""Data-parallel evaluation under torchrun / accelerate launch: whole batches per rank, merged on every rank.

`loglikelihoods` and `generate` plan their batches exactly as one process would (the plan depends only on the
requests and on what the cache already holds), and rank r scores batches r, r + W, r + 2W, ... (W ranks; the
plan is longest first, so neighbouring batches cost about the same). Every request is therefore computed in
the same batch, next to the same batch mates and with the same padding as in a single process, so the merged
results are bit for bit a single process's (on the same kind of device). After each call the ranks exchange
their results (`torch.distributed.all_gather_object` over a gloo group: CPU only, no NCCL needed) and every rank
continues with all of them; rank 0 alone writes the outputs.

The request cache (one SQLite file, WAL):
- reads: rank 0 alone looks the requests up and broadcasts what it found, so every rank plans from the same
  view (another rank's fresh commits cannot make two ranks disagree on what is left to do);
- writes: every rank commits each of its batches as soon as it is done (a killed run loses at most one batch
  per rank), when all ranks run on one machine (`LOCAL_WORLD_SIZE == WORLD_SIZE`): SQLite's WAL journal takes
  writers from several processes of one host one at a time, and its busy timeout (60 s) makes a writer wait its
  turn instead of failing. Across machines (where the file may sit on a network filesystem, which WAL does not
  support) only rank 0 touches the file: it commits the other ranks' results after each merge.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

TIMEOUT = timedelta(hours=2)  # a collective waits this long for the slowest rank (model loading included)


class Shards:
    """This process's share of an evaluation: which batches it scores, and the collectives that merge them.

    `Shards()` is the single process (rank 0 of 1): every batch is its own and nothing is exchanged."""

    def __init__(self, rank: int = 0, size: int = 1, group: Any = None, same_host: bool = True):
        self.rank, self.size, self.group, self.same_host = rank, size, group, same_host
        self.scored = 0  # requests this rank sent to the model (not answered from the cache)

    @classmethod
    def from_env(cls) -> Shards:
        """The launcher's RANK / WORLD_SIZE (torchrun, accelerate launch); one process without them."""
        rank, size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
        if size == 1:
            return cls()
        same_host = int(os.environ.get("LOCAL_WORLD_SIZE", size)) == size
        return cls(rank, size, _gloo_group(), same_host)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def writes_own(self) -> bool:
        """Whether this rank commits its own batches to the request cache (see the module docstring)."""
        return self.same_host or self.is_main

    def mine(self, n_batches: int) -> range:
        """Indices of this rank's batches among `n_batches` planned ones."""
        return range(self.rank, n_batches, self.size)

    def lookup(self, cache, keys: Sequence) -> dict:
        """What the cache holds of `keys`: read by rank 0, the same answer on every rank."""
        if cache is None:
            return {}
        if self.size == 1:
            return cache.get_many(keys)
        return self.broadcast(cache.get_many(keys) if self.is_main else None)

    def commit(self, cache, items: list) -> None:
        """Count and store this rank's freshly scored (key, value) pairs (stored where this rank writes,
        `writes_own`); called once per scored batch, with a cache or without."""
        self.scored += len(items)
        if cache is not None and self.writes_own:
            cache.put_many(items)

    def merge(self, mine: dict[int, Any], cache=None, keys: Sequence | None = None) -> dict[int, Any]:
        """Every rank's {request index: result}, on every rank. Across machines rank 0 then commits the
        results the other ranks could not (`cache` and `keys`: the call's cache scope and request keys)."""
        if self.size == 1:
            return mine
        import torch.distributed as dist

        parts: list[dict[int, Any] | None] = [None] * self.size
        dist.all_gather_object(parts, mine, group=self.group)
        merged: dict[int, Any] = {}
        for part in parts:
            merged.update(part or {})
        if cache is not None and keys is not None and self.is_main and not self.same_host:
            cache.put_many([(keys[i], value) for i, value in merged.items() if i not in mine])
        return merged

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank."""
        if self.size == 1:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0, group=self.group)
        return box[0]

    def requests_per_rank(self) -> list[int]:
        """How many requests each rank scored (a collective: every rank calls it)."""
        if self.size == 1:
            return [self.scored]
        import torch.distributed as dist

        counts: list[int | None] = [None] * self.size
        dist.all_gather_object(counts, self.scored, group=self.group)
        return [int(c or 0) for c in counts]

    def summary(self) -> dict[str, Any]:
        """For manifests: `world_size` and `requests_per_rank` (a collective)."""
        return {"world_size": self.size, "requests_per_rank": self.requests_per_rank()}


_GROUP: Any = None


def _gloo_group() -> Any:
    """A gloo process group over every rank (created once): the default group when it is gloo, else a new one.

    Object collectives on gloo run on the CPU, whatever device the models use (no NCCL, no `set_device`)."""
    global _GROUP
    if _GROUP is not None:
        return _GROUP
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="gloo", timeout=TIMEOUT)  # env://: MASTER_ADDR/PORT from the launcher
        atexit.register(_destroy)
    _GROUP = dist.group.WORLD if dist.get_backend() == "gloo" else dist.new_group(backend="gloo", timeout=TIMEOUT)
    return _GROUP


def _destroy() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
