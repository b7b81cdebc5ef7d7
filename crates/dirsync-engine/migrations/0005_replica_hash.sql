-- A content hash per replica object (issue 12): the SHA-256 of the
-- object's JSON as stored (first 16 bytes, hex). A rerun of a source
-- without change tracking (an LDIF file) compares each object it reads
-- with this hash instead of loading the replica's JSON. Written with every
-- row from now on; rows stored before are hashed on their first
-- comparison (the hash is NULL until then).
ALTER TABLE replica ADD COLUMN hash TEXT;
ALTER TABLE replica_next ADD COLUMN hash TEXT;
