-- upgrade
CREATE TABLE orders (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
    note        TEXT
);
CREATE INDEX orders_customer ON orders (customer_id);

-- rollback
DROP INDEX orders_customer;
DROP TABLE orders;
