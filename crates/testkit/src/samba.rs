//! Fixture: samba.
