-- profile: sqlite
-- a leading comment; with a semicolon
CREATE TABLE a (id INTEGER); -- trailing; comment
SELECT 1 -- inside; the statement
  + 2;
-- a comment between statements;
SELECT 3;
