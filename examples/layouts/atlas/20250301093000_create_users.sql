-- Create "users" table
CREATE TABLE "users" ("id" bigserial NOT NULL, "name" text NOT NULL, "email" text NULL, PRIMARY KEY ("id"));
