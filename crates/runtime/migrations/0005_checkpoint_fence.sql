-- The revision of the lease under which a checkpoint was last moved: a move
-- under an older lease than the stored one fails, so a replica that lost its
-- lease cannot commit after the replica that took it over. 0 without leases.
ALTER TABLE projection_checkpoints ADD COLUMN fence BIGINT NOT NULL DEFAULT 0;
