//! The pure SOPS codec: bytes and keys in, bytes out. No config or CLI knowledge.
