//! officed library: the HTTP app, rules and storage.
