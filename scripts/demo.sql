-- demo.sql - demo schema for scripts/demo.sh: a small product catalogue.
--
--   categories   20 rows
--   products     200,000 rows
--   orders       1,000,000 rows
--
-- Data is generated with generate_series and simple arithmetic (no random()),
-- so every load yields the same rows and the same query results.  Re-runnable:
-- the tables are dropped and recreated.

\set ON_ERROR_STOP on

DROP TABLE IF EXISTS orders, products, categories CASCADE;

CREATE TABLE categories (
    category_id int PRIMARY KEY,
    name        text NOT NULL
);

CREATE TABLE products (
    product_id  int PRIMARY KEY,
    category_id int NOT NULL REFERENCES categories,
    name        text NOT NULL,
    price       numeric(10,2) NOT NULL
);

CREATE TABLE orders (
    order_id    bigint PRIMARY KEY,
    product_id  int NOT NULL REFERENCES products,
    customer_id int NOT NULL,
    quantity    int NOT NULL,
    ordered_at  timestamptz NOT NULL
);

INSERT INTO categories
SELECT c, (ARRAY['Books', 'Music', 'Movies', 'Games', 'Toys', 'Garden',
                 'Tools', 'Kitchen', 'Sports', 'Outdoors', 'Office',
                 'Computers', 'Phones', 'Cameras', 'Audio', 'Health',
                 'Beauty', 'Clothing', 'Shoes', 'Jewelry'])[c]
FROM generate_series(1, 20) AS c;

INSERT INTO products
SELECT p,
       1 + (p * 7) % 20,
       'product #' || p,
       (1 + (p * 37) % 19999) / 100.0
FROM generate_series(1, 200000) AS p;

INSERT INTO orders
SELECT o,
       1 + (o * 7919) % 200000,
       1 + (o * 104729) % 50000,
       1 + o % 5,
       timestamptz '2024-01-01 00:00:00+00' + (o % 525600) * interval '1 minute'
FROM generate_series(1::bigint, 1000000) AS o;

CREATE INDEX orders_product_id_idx ON orders (product_id);
CREATE INDEX products_category_id_idx ON products (category_id);

ANALYZE categories, products, orders;
