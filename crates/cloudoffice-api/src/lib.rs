//! The Cloud Office API shape shared by officed (server) and dirsync (client).
