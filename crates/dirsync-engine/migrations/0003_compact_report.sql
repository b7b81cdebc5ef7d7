-- A compact run history (issue 12): each outcome row carries its whole
-- operation or finding, so the stored report is the run's summary alone and
-- the operations live only in their rows (before, a full run at 10,000
-- users stored 15.8 MB of report JSON beside its outcome rows). Runs
-- recorded before keep their whole report (compact = 0).
ALTER TABLE outcomes ADD COLUMN seq INTEGER;
ALTER TABLE outcomes ADD COLUMN phase INTEGER;
ALTER TABLE outcomes ADD COLUMN kind TEXT;
ALTER TABLE outcomes ADD COLUMN service TEXT;
ALTER TABLE outcomes ADD COLUMN target TEXT;
ALTER TABLE outcomes ADD COLUMN label TEXT;
ALTER TABLE outcomes ADD COLUMN reason TEXT;
ALTER TABLE outcomes ADD COLUMN fields TEXT;
ALTER TABLE outcomes ADD COLUMN address TEXT;
ALTER TABLE outcomes ADD COLUMN cause TEXT;
ALTER TABLE outcomes ADD COLUMN solution TEXT;
ALTER TABLE outcomes ADD COLUMN attempts INTEGER;
ALTER TABLE runs ADD COLUMN compact INTEGER NOT NULL DEFAULT 0;
