//! Directory sources: AD over LDAP(S) and LDIF snapshots.
