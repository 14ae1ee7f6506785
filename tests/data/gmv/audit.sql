-- audit.sql: triggers that log every change of GMV as the database sees it, to check ec's pipelines.
--
-- Run after ec-gen's CREATE TABLE statements and before its rows. Each change
-- of an order's GMV contribution is logged with its time (the order's
-- updated_at: when the change happened) and the dimension values current in
-- the database at that moment (the customer's city, the product's category),
-- so that summing the log by hour and city, or by minute and category, is an
-- independent computation of what ec-join | ec-state | ec-window compute.
SET client_min_messages = warning;

-- The states in which an order's amount counts towards GMV.
CREATE FUNCTION gmv_counted(status text) RETURNS boolean
	LANGUAGE sql IMMUTABLE AS $$ SELECT status IN ('PAID', 'SHIPPED', 'COMPLETED') $$;

-- One row per change of an orders row, with its signed GMV delta (often 0).
CREATE TABLE gmv_order_log (
	seq bigserial PRIMARY KEY,
	order_id bigint NOT NULL,
	customer_id bigint,
	op text NOT NULL,
	old_status text,
	new_status text,
	at timestamptz NOT NULL,
	city text,
	delta numeric NOT NULL
);

-- One row per change of an order line's contribution (nonzero deltas only).
CREATE TABLE gmv_item_log (
	seq bigserial PRIMARY KEY,
	order_id bigint NOT NULL,
	product_id bigint NOT NULL,
	at timestamptz NOT NULL,
	category text,
	delta numeric NOT NULL
);

-- Every change of a customer's city, in commit order.
CREATE TABLE gmv_move_log (
	seq bigserial PRIMARY KEY,
	customer_id bigint NOT NULL,
	old_city text,
	new_city text
);

-- Every change of a product's category, in commit order.
CREATE TABLE gmv_recategorise_log (
	seq bigserial PRIMARY KEY,
	product_id bigint NOT NULL,
	old_category text,
	new_category text
);

-- An order's GMV: its total while in a counted state, else 0.
CREATE FUNCTION gmv_order_amount(status text, total numeric) RETURNS numeric
	LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN gmv_counted(status) THEN total ELSE 0 END $$;

CREATE FUNCTION gmv_log_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	old_gmv numeric := 0;
	new_gmv numeric := 0;
	row_now orders;
BEGIN
	IF TG_OP <> 'INSERT' THEN
		old_gmv := gmv_order_amount(OLD.status, OLD.total_amount);
	END IF;
	IF TG_OP <> 'DELETE' THEN
		new_gmv := gmv_order_amount(NEW.status, NEW.total_amount);
		row_now := NEW;
	ELSE
		row_now := OLD;
	END IF;
	INSERT INTO gmv_order_log (order_id, customer_id, op, old_status, new_status, at, city, delta)
	VALUES (row_now.id, row_now.customer_id, TG_OP,
		CASE WHEN TG_OP <> 'INSERT' THEN OLD.status END,
		CASE WHEN TG_OP <> 'DELETE' THEN NEW.status END,
		row_now.updated_at,
		(SELECT c.city FROM customers c WHERE c.id = row_now.customer_id),
		new_gmv - old_gmv);

	-- The order's lines count while the order counts: when its counted-ness
	-- changes, each line enters or leaves GMV, under its product's category now.
	IF TG_OP = 'UPDATE' AND gmv_counted(OLD.status) <> gmv_counted(NEW.status) THEN
		INSERT INTO gmv_item_log (order_id, product_id, at, category, delta)
		SELECT i.order_id, i.product_id, NEW.updated_at, p.category,
			CASE WHEN gmv_counted(NEW.status) THEN 1 ELSE -1 END * i.quantity * i.unit_price
		FROM order_items i LEFT JOIN products p ON p.id = i.product_id
		WHERE i.order_id = NEW.id;
	ELSIF TG_OP = 'DELETE' AND gmv_counted(OLD.status) THEN
		INSERT INTO gmv_item_log (order_id, product_id, at, category, delta)
		SELECT i.order_id, i.product_id, OLD.updated_at, p.category, -i.quantity * i.unit_price
		FROM order_items i LEFT JOIN products p ON p.id = i.product_id
		WHERE i.order_id = OLD.id;
	END IF;
	RETURN NULL;
END $$;

-- A line inserted, changed or deleted while its order counts moves GMV at
-- once, at the order's current time.
CREATE FUNCTION gmv_log_item() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	o orders;
	old_line numeric := 0;
	new_line numeric := 0;
BEGIN
	IF TG_OP <> 'INSERT' THEN
		old_line := OLD.quantity * OLD.unit_price;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		new_line := NEW.quantity * NEW.unit_price;
		SELECT * INTO o FROM orders WHERE id = NEW.order_id;
	ELSE
		SELECT * INTO o FROM orders WHERE id = OLD.order_id;
	END IF;
	IF o.id IS NULL OR NOT gmv_counted(o.status) OR new_line = old_line THEN
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		INSERT INTO gmv_item_log (order_id, product_id, at, category, delta)
		SELECT OLD.order_id, OLD.product_id, o.updated_at, p.category, -old_line
		FROM (SELECT 1) one LEFT JOIN products p ON p.id = OLD.product_id;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO gmv_item_log (order_id, product_id, at, category, delta)
		SELECT NEW.order_id, NEW.product_id, o.updated_at, p.category, new_line
		FROM (SELECT 1) one LEFT JOIN products p ON p.id = NEW.product_id;
	END IF;
	RETURN NULL;
END $$;

CREATE FUNCTION gmv_log_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.city IS DISTINCT FROM OLD.city THEN
		INSERT INTO gmv_move_log (customer_id, old_city, new_city) VALUES (NEW.id, OLD.city, NEW.city);
	END IF;
	RETURN NULL;
END $$;

CREATE FUNCTION gmv_log_recategorise() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.category IS DISTINCT FROM OLD.category THEN
		INSERT INTO gmv_recategorise_log (product_id, old_category, new_category)
		VALUES (NEW.id, OLD.category, NEW.category);
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER gmv_log_order AFTER INSERT OR UPDATE OR DELETE ON orders
	FOR EACH ROW EXECUTE FUNCTION gmv_log_order();
CREATE TRIGGER gmv_log_item AFTER INSERT OR UPDATE OR DELETE ON order_items
	FOR EACH ROW EXECUTE FUNCTION gmv_log_item();
CREATE TRIGGER gmv_log_move AFTER UPDATE ON customers
	FOR EACH ROW EXECUTE FUNCTION gmv_log_move();
CREATE TRIGGER gmv_log_recategorise AFTER UPDATE ON products
	FOR EACH ROW EXECUTE FUNCTION gmv_log_recategorise();

-- What the pipelines should write, window by window: GMV by city per hour
-- (UTC), and by category per minute.
CREATE VIEW gmv_city_hour AS
	SELECT date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS window_start,
		city AS key, sum(delta) AS gmv
	FROM gmv_order_log GROUP BY 1, 2;
CREATE VIEW gmv_category_minute AS
	SELECT date_trunc('minute', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS window_start,
		category AS key, sum(delta) AS gmv
	FROM gmv_item_log GROUP BY 1, 2;

-- GMV per city summed over all time, from the final state: an order of a
-- customer who never moved counts under the customer's city; one who moved
-- has each change counted under the city of that moment (the log), as it
-- cannot be told from the final state alone which city a change counted in.
CREATE VIEW gmv_city_total AS
	SELECT key, sum(gmv) AS gmv FROM (
		SELECT c.city AS key, o.total_amount AS gmv
		FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
		WHERE gmv_counted(o.status)
			AND o.customer_id NOT IN (SELECT customer_id FROM gmv_move_log)
		UNION ALL
		SELECT city, delta FROM gmv_order_log
		WHERE customer_id IN (SELECT customer_id FROM gmv_move_log)
	) parts GROUP BY key;

-- GMV per category summed over all time, from the final state: lines of
-- counted orders, under the product's category, or for a product whose
-- category changed, each change under the category of that moment.
CREATE VIEW gmv_category_total AS
	SELECT key, sum(gmv) AS gmv FROM (
		SELECT p.category AS key, i.quantity * i.unit_price AS gmv
		FROM order_items i JOIN orders o ON o.id = i.order_id
			LEFT JOIN products p ON p.id = i.product_id
		WHERE gmv_counted(o.status)
			AND i.product_id NOT IN (SELECT product_id FROM gmv_recategorise_log)
		UNION ALL
		SELECT category, delta FROM gmv_item_log
		WHERE product_id IN (SELECT product_id FROM gmv_recategorise_log)
	) parts GROUP BY key;

-- The log's own check: each order's deltas add up to its final GMV, and each
-- order's line deltas to the sum of its lines when it counts. Lists the orders
-- where they do not.
CREATE VIEW gmv_log_mismatch AS
	SELECT o.id, gmv_order_amount(o.status, o.total_amount) AS final_gmv,
		coalesce(ol.gmv, 0) AS order_log, coalesce(il.gmv, 0) AS item_log,
		CASE WHEN gmv_counted(o.status) THEN coalesce(li.gmv, 0) ELSE 0 END AS final_lines
	FROM orders o
	LEFT JOIN (SELECT order_id, sum(delta) AS gmv FROM gmv_order_log GROUP BY 1) ol ON ol.order_id = o.id
	LEFT JOIN (SELECT order_id, sum(delta) AS gmv FROM gmv_item_log GROUP BY 1) il ON il.order_id = o.id
	LEFT JOIN (SELECT order_id, sum(quantity * unit_price) AS gmv FROM order_items GROUP BY 1) li
		ON li.order_id = o.id
	WHERE coalesce(ol.gmv, 0) <> gmv_order_amount(o.status, o.total_amount)
		OR coalesce(il.gmv, 0) <> CASE WHEN gmv_counted(o.status) THEN coalesce(li.gmv, 0) ELSE 0 END;
