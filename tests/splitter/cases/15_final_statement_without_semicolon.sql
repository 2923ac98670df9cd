-- profile: sqlite
CREATE TABLE a (id INTEGER);
SELECT * FROM a
  -- trailing comment is not part of the statement
