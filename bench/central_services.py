"""The servers a central cluster needs (moved to :mod:`central.services`, which ``sohoa-central demo`` uses)."""

from __future__ import annotations

from central.services import (HAPROXY_CFG, ROOT, S3_ACCESS_KEY, S3_SECRET_KEY, TEST_USER, HAProxy, PgCluster,
                              ReceiverNode, SeaweedS3, free_port, free_ports, wait_port, weed_binary,
                              write_node_config)

__all__ = ["HAPROXY_CFG", "ROOT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "TEST_USER", "HAProxy", "PgCluster", "ReceiverNode",
           "SeaweedS3", "free_port", "free_ports", "wait_port", "weed_binary", "write_node_config"]
