//! Fixture: officed.
