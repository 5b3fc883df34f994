"""Moving bytes between processes: ZeroMQ sockets, message framing, serialization."""
