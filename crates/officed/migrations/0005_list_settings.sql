-- officed schema, version 5: documented distribution-list settings that
-- officed keeps without acting on them (Description, AcceptMessagesOnlyFrom
-- of the v1 model), as a JSON object per list.

ALTER TABLE ex_lists ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
