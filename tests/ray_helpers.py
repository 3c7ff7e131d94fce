"""A Ray cluster of two 1-CPU nodes simulated on this machine, for the Ray test modules (one per module)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest

STORE_BYTES = 80 << 20


@contextmanager
def two_node_cluster() -> Iterator:
    """A head and one worker node (1 CPU, 80 MB object store each), the driver connected; skips the test
    module where Ray is missing or cannot start."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'stt-arena[ray]')")
    from ray.cluster_utils import Cluster
    try:
        c = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 1, "object_store_memory": STORE_BYTES, "include_dashboard": False})
        c.add_node(num_cpus=1, object_store_memory=STORE_BYTES)
        ray.init(address=c.address, logging_level="WARNING")
        c.wait_for_nodes()
    except Exception as e:  # noqa: BLE001 - no shared memory, no ports, ...
        pytest.skip(f"a Ray cluster cannot start here: {type(e).__name__}: {e}")
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()
