-- profile: sqlite
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL DEFAULT 'a;b');
INSERT INTO notes (body) VALUES ('it''s; fine'), (''';'''), ('');
INSERT INTO notes (body) VALUES ('-- not a comment;'), ('/* nor this; */');
