-- profile: sqlite
-- keel: delimiter=GO
CREATE TABLE go_test (category TEXT DEFAULT 'GO');
INSERT INTO go_test VALUES ('x');
  GO
SELECT 'a
GO
b' AS ago;
go
SELECT 1 -- GO
/*
GO
*/
