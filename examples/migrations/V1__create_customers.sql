-- Customers who can place orders.
-- upgrade
CREATE TABLE customers (
    id    INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name  TEXT NOT NULL
);

-- rollback
DROP TABLE customers;
