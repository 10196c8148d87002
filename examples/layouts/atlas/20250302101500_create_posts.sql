-- Create "posts" table
CREATE TABLE "posts" ("id" bigserial NOT NULL, "author_id" bigint NOT NULL, "body" text NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "posts_author_id_fkey" FOREIGN KEY ("author_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
