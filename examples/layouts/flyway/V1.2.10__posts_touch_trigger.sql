-- Runs after V1.2.9 (versions compare numerically, not as text).
ALTER TABLE posts ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();  -- a ';' inside dollar quotes is not a statement end
    RETURN NEW;
END;
$$;

CREATE TRIGGER posts_touch BEFORE UPDATE ON posts
FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
