-- A masking seed: overwrites every personal column of data restored from a
-- parent (SeedFrom / SourceSnapshotIdentifier), so no real email or name is
-- left in the copy. Run it as the last seed (SeedsS3Uri) of the cluster you
-- branch from, or of each branch; it is idempotent, and rows it already masked
-- are left as they are. Extend it with every table that holds personal data:
-- an unmasked column is a leak.
UPDATE customers
SET email = 'customer-' || id || '@example.invalid',
    name  = 'Customer ' || id
WHERE email NOT LIKE '%@example.invalid';
