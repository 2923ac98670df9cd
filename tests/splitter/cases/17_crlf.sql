-- profile: postgres
CREATE TABLE crlf (
    id int,
    note text DEFAULT 'line one;
line two'
);
-- comment; here
SELECT 1;
