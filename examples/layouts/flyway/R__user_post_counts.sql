CREATE OR REPLACE VIEW user_post_counts AS
SELECT u.id, u.name, count(p.id) AS posts
FROM users u LEFT JOIN posts p ON p.author_id = u.id
GROUP BY u.id, u.name;
