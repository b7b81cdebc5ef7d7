-- officed schema, version 2: the administrator's rename permission of API
-- keys. Renaming a mailbox changes its Service ID, so only keys issued with
-- it (`officed key issue --allow-rename`) may call the API's rename
-- operation; every existing and new key is without it by default.

ALTER TABLE api_keys ADD COLUMN allow_rename BIGINT NOT NULL DEFAULT 0;
