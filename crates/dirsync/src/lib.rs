//! dirsync agent library: CLI, service, web UI.
