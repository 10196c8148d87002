-- atlas:txmode none

-- Create index "posts_author_idx" to table: "posts"
CREATE INDEX CONCURRENTLY "posts_author_idx" ON "posts" ("author_id");
