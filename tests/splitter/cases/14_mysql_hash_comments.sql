-- profile: mysql
# a hash comment; with a semicolon
INSERT INTO t (s) VALUES ('it\'s;'); # trailing; hash comment
INSERT INTO t (s) VALUES ("double \" ; quoted"), ('back\\'), ('a''b;');
SELECT 1 # inside; the statement
  + 1;
