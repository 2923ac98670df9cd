-- profile: sqlite
INSERT INTO docs (body) VALUES ('first line;

   third line, indented;
-- not a comment
last');
SELECT 'after';
