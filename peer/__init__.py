"""HTTP node, discovery, replication and client (later issues). No Qt."""
